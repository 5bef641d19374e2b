"""Telling people about transfers: a new one for them, and, to its sender, its receipt and
its acknowledgement. Each is an in-app notice and, if the person wants it, an e-mail.

Everything goes through the alert outbox (``custody.services.outbox``), queued in the same
transaction as the event that causes it: the transfer sent, the receipt recorded, the
acknowledgement recorded. The watcher delivers it, so an SMTP server that is down delays
the e-mail and loses nothing.

What they say: that a transfer arrived, from which organisation, its id and its link (the
web application's ``/transfers/{id}`` under ``CUSTODY_PUBLIC_URL``), and its deadline.
Never a file name (the server does not know them), never a case URN or title, never
content: an e-mail leaves the system's protection, so it says only where to look.

A transfer to a big unit or organisation: its recipients are every content-role person
there. Up to ``INLINE_LIMIT`` of them are queued with the send; past that the send queues
one fan-out row and the watcher expands it into everyone's, so sending never waits on
thousands of inserts (the fan-out row commits with the send: nothing is lost either).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from custody.ledger.entry import Entry
from custody.ledger.events import EntryType
from custody.services import outbox
from custody.services.context import Actor, ServiceContext
from custody.store.ledger_store import LedgerStore
from custody.store.models import Item, Organisation, Transfer, TransferRecipient, User
from custody.store.models_delivery import Alert, NotificationPreference

NEW = "transfer:new"
RECEIVED = "transfer:received"
ACKNOWLEDGED = "transfer:acknowledged"
INLINE_LIMIT = 25
_FANOUT_RECIPIENT = f"{outbox.FANOUT}:recipients"


@dataclass(frozen=True)
class Preferences:
    """Which e-mails a person gets (in-app notices always)."""

    new_transfer: bool = True
    received: bool = True
    acknowledged: bool = True


_FIELD = {NEW: "new_transfer", RECEIVED: "received", ACKNOWLEDGED: "acknowledged"}


def preferences(ctx: ServiceContext, actor: Actor) -> Preferences:
    with ctx.unit_of_work() as session:
        row = session.get(NotificationPreference, actor.user_id)
        if row is None:
            return Preferences()
        return Preferences(row.new_transfer, row.received, row.acknowledged)


def set_preferences(ctx: ServiceContext, actor: Actor, chosen: Preferences) -> Preferences:
    """Keep ``chosen`` as the person's own choice (nobody else sets it)."""
    with ctx.unit_of_work() as session:
        row = session.get(NotificationPreference, actor.user_id)
        if row is None:
            row = NotificationPreference(user_id=actor.user_id, updated_at=ctx.clock.now())
            session.add(row)
        row.new_transfer, row.received = chosen.new_transfer, chosen.received
        row.acknowledged, row.updated_at = chosen.acknowledged, ctx.clock.now()
    return chosen


def _wanting(session: Session, kind: str, user_ids: Iterable[str]) -> set[str]:
    """Of ``user_ids``, those who want the e-mail of ``kind`` (no row: they do)."""
    ids = set(user_ids)
    column = getattr(NotificationPreference, _FIELD[kind])
    declined = session.scalars(
        select(NotificationPreference.user_id).where(
            NotificationPreference.user_id.in_(ids), column.is_(False)
        )
    )
    return ids - set(declined)


def link(ctx: ServiceContext, transfer_id: str) -> str:
    """Where the transfer is in the web application, or how to find it without one."""
    base = (ctx.settings.public_url or "").rstrip("/")
    if base:
        return f"{base}/transfers/{transfer_id}"
    return f"sign in to custody and open transfer {transfer_id} (custody receive {transfer_id})"


def _when(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC" if at else "-"


def _new_message(ctx: ServiceContext, session: Session, transfer: Transfer) -> outbox.Message:
    sender_org = session.get_one(Organisation, transfer.sender_org_id).name
    text = (
        f"A transfer from {sender_org} has arrived for you.\n\n"
        f"Open it: {link(ctx, transfer.id)}\n"
        f"Acknowledge it by: {_when(transfer.ack_deadline)}\n\n"
        "This e-mail names no case and no file, and carries no content: sign in to see them.\n"
        "Choose which e-mails you get under Settings, Notifications.\n"
    )
    event: dict[str, object] = {"event": "transfer.new", "transfer": transfer.id}
    return outbox.Message(f"A transfer from {sender_org} has arrived for you", text, event)


def _to_sender(
    ctx: ServiceContext, transfer: Transfer, by: Actor, what: str, receipt: str = ""
) -> outbox.Message:
    text = (
        f"Your transfer {transfer.id} was {what} by {by.email} at {_when(ctx.clock.now())}"
        f"{receipt}.\n\nSee it: {link(ctx, transfer.id)}\n\n"
        "Choose which e-mails you get under Settings, Notifications.\n"
    )
    event: dict[str, object] = {"event": f"transfer.{what}", "transfer": transfer.id}
    return outbox.Message(f"Your transfer was {what}", text, event)


def _enqueue_once(
    ctx: ServiceContext,
    session: Session,
    transfer: Transfer,
    kind: str,
    people: list[User],
    message: outbox.Message,
) -> None:
    """Queue ``message`` unless it was queued already: in a savepoint, so that two
    recipients' receipts at the same moment cannot fail each other's transaction."""
    if outbox.already_raised(session, transfer.id, kind):
        return
    wanting = _wanting(session, kind, [p.id for p in people])
    try:
        with session.begin_nested():
            outbox.enqueue(
                ctx,
                session,
                subject_id=transfer.id,
                kind=kind,
                people=people,
                org_ids=[],
                message=message,
                email_to=wanting,
            )
    except IntegrityError:
        return  # another transaction queued it first


def transfer_sent(ctx: ServiceContext, session: Session, transfer: Transfer) -> None:
    """In the send's transaction: tell every recipient (or queue the fan-out that will)."""
    message = _new_message(ctx, session, transfer)
    if len(transfer.recipients) > INLINE_LIMIT:
        now = ctx.clock.now()
        session.add(
            Alert(
                subject_id=transfer.id,
                kind=NEW,
                recipient=_FANOUT_RECIPIENT,
                channel=outbox.FANOUT,
                payload=json.dumps(
                    {"subject": message.subject, "text": message.text, "event": message.event},
                    sort_keys=True,
                ),
                created_at=now,
                next_attempt_at=now,
            )
        )
        session.flush()
        return
    ids = [r.user_id for r in transfer.recipients]
    people = list(session.scalars(select(User).where(User.id.in_(ids), User.disabled.is_(False))))
    _enqueue_once(ctx, session, transfer, NEW, people, message)


FANOUT_BATCH = 500


def fan_out(ctx: ServiceContext, session: Session) -> int:
    """Watcher: expand queued fan-outs into each recipient's notice and e-mail, a batch of
    ``FANOUT_BATCH`` people at a time (the row stays until everyone has theirs); return
    how many people were reached now."""
    reached = 0
    rows = session.scalars(
        select(Alert).where(Alert.channel == outbox.FANOUT, Alert.delivered_at.is_(None))
    ).all()
    for row in rows:
        body = json.loads(row.payload)
        message = outbox.Message(body["subject"], body["text"], body["event"])
        told = select(Alert.recipient).where(
            Alert.subject_id == row.subject_id, Alert.kind == row.kind, Alert.channel == "notice"
        )
        pending = list(
            session.scalars(
                select(User)
                .join(TransferRecipient, TransferRecipient.user_id == User.id)
                .where(
                    TransferRecipient.transfer_id == row.subject_id,
                    User.disabled.is_(False),
                    ("notice:" + User.id).not_in(told),
                )
                .order_by(User.id)
                .limit(FANOUT_BATCH)
            )
        )
        if pending:
            outbox.enqueue(
                ctx,
                session,
                subject_id=row.subject_id,
                kind=row.kind,
                people=pending,
                org_ids=[],
                message=message,
                email_to=_wanting(session, row.kind, [p.id for p in pending]),
            )
            reached += len(pending)
        if len(pending) < FANOUT_BATCH:
            row.delivered_at = ctx.clock.now()
    return reached


def transfer_received(ctx: ServiceContext, session: Session, item: Item, by: Actor) -> None:
    """In a verified receipt's transaction (before its entry is appended): once ``by``, a
    recipient, has received every item of the transfer, ``item`` now included, tell its
    sender (once per transfer: the first recipient to have all of it)."""
    transfer = item.transfer
    if not any(r.user_id == by.user_id for r in transfer.recipients):
        return  # the sender, or a reader it was shared with onward: not its receipt
    if outbox.already_raised(session, transfer.id, RECEIVED):
        return
    ids = [i.id for i in transfer.items]
    got = {item.id} | {
        entry.item
        for entry in (
            Entry.from_bytes(body)
            for _, body in LedgerStore(session).entries_of(ids, EntryType.ITEM_RECEIVED)
        )
        if entry.actor == by.user_id
    }
    if not set(ids) <= got:
        return
    sender = session.get_one(User, transfer.sender_id)
    items = f" (all {len(ids)} item(s), signature and hashes verified)"
    message = _to_sender(ctx, transfer, by, "received", items)
    _enqueue_once(ctx, session, transfer, RECEIVED, [sender], message)


def transfer_acknowledged(
    ctx: ServiceContext, session: Session, transfer: Transfer, by: Actor
) -> None:
    """In the acknowledgement's transaction: tell the sender."""
    sender = session.get_one(User, transfer.sender_id)
    message = _to_sender(ctx, transfer, by, "acknowledged")
    _enqueue_once(ctx, session, transfer, ACKNOWLEDGED, [sender], message)
