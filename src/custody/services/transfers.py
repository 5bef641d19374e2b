"""Transfers: who sends what to whom, their state, their readers, and how they are shown."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from custody.domain.items import ItemState
from custody.domain.people import (
    CONTENT_ROLES,
    require_content_role,
    split_unit_target,
    unit_label,
)
from custody.domain.transfers import Event, TransferState, next_state
from custody.errors import Conflict, Forbidden, InvalidInput, NotFound
from custody.ledger.entry import Entry
from custody.ledger.events import EntryType
from custody.protocol.transfers import MAX_RECIPIENTS, ReaderOut, TransferOut, TransferPage
from custody.services import notifications
from custody.services.accounts import current_key
from custody.services.cases import find_case
from custody.services.context import Actor, ServiceContext, refuse
from custody.services.ledger import record, record_item, record_items
from custody.services.reading import refusal
from custody.services.security_events import record_alone
from custody.services.transfer_views import TransferQuery, describe, page
from custody.store.ledger_store import LedgerStore
from custody.store.models import (
    Item,
    Organisation,
    Transfer,
    TransferRecipient,
    Unit,
    User,
    UserKey,
)

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class _Recipients:
    org: Organisation
    unit: Unit | None  # set when the transfer is addressed to a unit ("ORG/UNIT")
    users: list[User]


def _content_members(session: Session, label: str, *where: ColumnElement[bool]) -> list[User]:
    """The enabled content-role people matching ``where`` who have keys (refuse if none)."""
    members = session.scalars(
        select(User).where(
            *where,
            User.disabled.is_(False),
            User.role.in_([r.value for r in CONTENT_ROLES]),
        )
    ).all()
    keyed = [m for m in members if current_key(session, m.id)]
    if not keyed:
        raise Conflict(
            f"nobody in {label} has keys yet", hint="ask them to run `custody keys init`"
        )
    return keyed


def _resolve_recipients(session: Session, to: list[str]) -> _Recipients:
    """Recipients from e-mail addresses, organisation names and ``ORG/UNIT`` names."""
    users: dict[str, User] = {}
    orgs: set[str] = set()
    units: dict[str, Unit] = {}
    for target in to:
        if "@" in target:
            user = session.scalar(select(User).where(User.email == target.strip().lower()))
            if user is None or user.disabled:
                raise NotFound(
                    f"no recipient {target!r}",
                    hint="check the address, or send to the unit by its name",
                )
            users[user.id] = user
            orgs.add(user.org_id)
            continue
        named = split_unit_target(target)
        org = session.scalar(
            select(Organisation).where(Organisation.name == (named[0] if named else target))
        )
        unit = (
            session.scalar(select(Unit).where(Unit.org_id == org.id, Unit.name == named[1]))
            if org and named
            else None
        )
        if org is None or (named and unit is None):
            raise NotFound(
                f"no recipient {target!r}",
                hint='name a person\'s e-mail address, an organisation, or "ORGANISATION/UNIT"',
            )
        if unit is not None:
            label = unit_label(org.name, unit.name)
            found = _content_members(session, label, User.unit_id == unit.id)
            units[unit.id] = unit
        else:
            found = _content_members(session, org.name, User.org_id == org.id)
        users.update({m.id: m for m in found})
        orgs.add(org.id)
    if len(orgs) != 1:
        raise InvalidInput("a transfer goes to one organisation", hint="send separate transfers")
    if len(units) > 1:
        raise InvalidInput("a transfer goes to at most one unit", hint="send separate transfers")
    for user in users.values():
        if current_key(session, user.id) is None:
            raise Conflict(
                f"{user.email} has no keys yet", hint="ask them to run `custody keys init`"
            )
    org = session.get_one(Organisation, orgs.pop())
    return _Recipients(org, next(iter(units.values()), None), list(users.values()))


def person_reader(user: User, key: UserKey) -> ReaderOut:
    """A person as a reader of an item key: their key, and the entry that registered it."""
    return ReaderOut(
        recipient=key.age_recipient,
        user_id=user.id,
        org_id=None,
        label=user.email,
        key_index=key.ledger_index,
    )


def readers_for(session: Session, transfer: Transfer) -> list[ReaderOut]:
    """Everyone an item key is wrapped for: recipients, the sender, both recovery keys."""
    readers: list[ReaderOut] = []
    ids = [r.user_id for r in transfer.recipients]
    for user_id in [transfer.sender_id, *ids]:
        user = session.get(User, user_id)
        key = current_key(session, user_id)
        if user is None or key is None:
            raise Conflict(
                "a reader of this transfer has no keys any more", hint="create a new transfer"
            )
        if not any(r.user_id == user_id for r in readers):
            readers.append(person_reader(user, key))
    for org_id in dict.fromkeys([transfer.sender_org_id, transfer.recipient_org_id]):
        org = session.get_one(Organisation, org_id)
        readers.append(
            ReaderOut(
                recipient=org.recovery_recipient,
                user_id=None,
                org_id=org.id,
                label=f"{org.name} (recovery key)",
                key_index=org.recovery_key_index,
            )
        )
    return readers


def create_transfer(
    ctx: ServiceContext, actor: Actor, urn: str, to: list[str], ack_within: timedelta | None
) -> TransferOut:
    """A draft transfer, and (in its view's ``readers``) everyone each item key must be
    wrapped for: the recipients, the sender, both organisations' recovery keys."""
    require_content_role(actor.role)
    if not to:
        raise InvalidInput("name at least one recipient with --to")
    with ctx.unit_of_work() as session:
        case = find_case(session, actor.org_id, urn)
        sender_key = current_key(session, actor.user_id)
        if sender_key is None:
            raise Conflict("you have no keys yet", hint="run `custody keys init` first")
        resolved = _resolve_recipients(session, to)
        org, users = resolved.org, resolved.users
        if any(u.id == actor.user_id for u in users):
            raise InvalidInput("you cannot send a transfer to yourself")
        if len(users) > MAX_RECIPIENTS:
            raise InvalidInput(
                f"these recipients are {len(users)} people; a transfer reaches at most "
                f"{MAX_RECIPIENTS}",
                hint="send to fewer people, or to smaller units, in several transfers",
            )
        ack = ack_within or timedelta(hours=org.default_ack_hours)
        transfer = Transfer(
            case_id=case.id,
            sender_id=actor.user_id,
            sender_org_id=actor.org_id,
            recipient_org_id=org.id,
            recipient_unit_id=resolved.unit.id if resolved.unit else None,
            state=TransferState.DRAFT.value,
            ack_within_seconds=int(ack.total_seconds()),
            created_at=ctx.clock.now(),
            sender_key_index=sender_key.ledger_index,
        )
        transfer.recipients = [TransferRecipient(user_id=u.id) for u in users]
        session.add(transfer)
        session.flush()
        record(
            ctx,
            session,
            EntryType.TRANSFER_CREATED,
            actor,
            case=case.id,
            transfer=transfer.id,
            data={"org": org.id, **({"unit": resolved.unit.id} if resolved.unit else {})},
            people_list=("recipients", [u.id for u in users]),
        )
        readers = readers_for(session, transfer)
        return describe(session, transfer, actor).model_copy(update={"readers": readers})


def own_draft(session: Session, actor: Actor, transfer_id: str) -> Transfer:
    transfer = session.get(Transfer, transfer_id)
    if transfer is None or transfer.sender_id != actor.user_id:
        raise NotFound(f"no transfer {transfer_id} of yours")
    if transfer.state != TransferState.DRAFT:
        raise Conflict(
            f"transfer {transfer_id} is {transfer.state}; items can only be added to a draft"
        )
    return transfer


def send(ctx: ServiceContext, actor: Actor, transfer_id: str) -> TransferOut:
    """Send a sealed draft: its recipients see it, and its acknowledgement deadline starts."""
    with ctx.unit_of_work() as session:
        transfer = own_draft(session, actor, transfer_id)
        if not transfer.items:
            raise Conflict("this transfer has no items", hint="add files: custody send FILE ...")
        unsealed = [i.id for i in transfer.items if i.state != ItemState.SEALED]
        if unsealed:
            raise Conflict(
                f"{len(unsealed)} item(s) are not sealed yet",
                hint="run the same custody send again to resume",
            )
        now = ctx.clock.now()
        transfer.state = next_state(TransferState(transfer.state), Event.SEND).value
        transfer.sent_at = now
        transfer.ack_deadline = now + timedelta(seconds=transfer.ack_within_seconds)
        record_items(
            ctx,
            session,
            EntryType.TRANSFER_SENT,
            actor,
            transfer.items,
            data={"ack_deadline": transfer.ack_deadline.isoformat()},
            people_list=("recipients", [r.user_id for r in transfer.recipients]),
        )
        notifications.transfer_sent(ctx, session, transfer)
        return describe(session, transfer, actor)


def visible_transfer(session: Session, actor: Actor, transfer_id: str) -> Transfer:
    transfer = session.get(Transfer, transfer_id)
    if transfer is None:
        raise NotFound(f"no transfer {transfer_id}")
    is_recipient = any(r.user_id == actor.user_id for r in transfer.recipients)
    if transfer.sender_id == actor.user_id or (
        is_recipient and transfer.state != TransferState.DRAFT
    ):
        return transfer
    raise NotFound(f"no transfer {transfer_id}")  # no oracle for other people's transfers


def inbox(ctx: ServiceContext, actor: Actor, query: TransferQuery | None = None) -> TransferPage:
    """Transfers sent to the actor, newest first, a page at a time (drafts are invisible to
    their recipients)."""
    base = (
        select(Transfer)
        .join(TransferRecipient)
        .where(
            TransferRecipient.user_id == actor.user_id,
            Transfer.state != TransferState.DRAFT.value,
        )
    )
    with ctx.unit_of_work() as session:
        return page(
            session, actor, base, query or TransferQuery(), ctx.clock.now(), Transfer.sender_org_id
        )


def outbox(ctx: ServiceContext, actor: Actor, query: TransferQuery | None = None) -> TransferPage:
    """Transfers the actor sent (drafts included), newest first, a page at a time."""
    base = select(Transfer).where(Transfer.sender_id == actor.user_id)
    with ctx.unit_of_work() as session:
        return page(session, actor, base, query or TransferQuery(), ctx.clock.now())


def acknowledge(
    ctx: ServiceContext, actor: Actor, transfer_id: str, *, without_receipt: bool = False
) -> TransferOut:
    """Take responsibility for a transfer. "Acknowledged" must not mean "never received": it
    follows the acknowledger's own verified receipt of every item, or (``without_receipt``,
    e.g. a colleague in the unit received it) says in each entry that it did not."""
    with ctx.unit_of_work() as session:
        transfer = visible_transfer(session, actor, transfer_id)
        if not any(r.user_id == actor.user_id for r in transfer.recipients):
            raise Forbidden("only a recipient can acknowledge a transfer")
        transfer.state = next_state(TransferState(transfer.state), Event.ACKNOWLEDGE).value
        received = _received_by(session, actor.user_id, [i.id for i in transfer.items])
        missing = [i.id for i in transfer.items if i.id not in received]
        if missing and not without_receipt:
            raise Conflict(
                f"you have not received and verified {len(missing)} of its item(s) yet "
                f"(first: {missing[0]})",
                hint=f"receive it first: custody receive {transfer.id}; if a colleague "
                "received it for you, say so: custody ack --without-receipt",
            )
        transfer.acknowledged_at = ctx.clock.now()
        transfer.acknowledged_by = actor.user_id
        for item in transfer.items:
            receipt = "verified" if item.id in received else "none"
            record_item(
                ctx, session, EntryType.TRANSFER_ACKNOWLEDGED, actor, item, {"receipt": receipt}
            )
        notifications.transfer_acknowledged(ctx, session, transfer, actor)
        return describe(session, transfer, actor)


def _received_by(session: Session, user_id: str, item_ids: list[str]) -> set[str]:
    """The items ``user_id`` has a verified receipt of (an ``item:received`` entry of theirs)."""
    found = set()
    for _, body in LedgerStore(session).entries_of(item_ids, EntryType.ITEM_RECEIVED):
        entry = Entry.from_bytes(body)
        if entry.actor == user_id and entry.item is not None:
            found.add(entry.item)
    return found


def find_item_ids(session: Session, actor: Actor, ref: str) -> tuple[list[str], Transfer]:
    """Resolve an item or transfer id the actor may see to its item ids.

    Whatever the reason, a refusal names only what was asked for: no oracle for
    whether an item exists or which transfer holds it.
    """
    item = session.get(Item, ref)
    try:
        transfer = visible_transfer(session, actor, item.transfer_id if item else ref)
    except NotFound:
        raise NotFound(f"no item or transfer {ref}") from None
    return ([item.id] if item else [i.id for i in transfer.items]), transfer


def view(ctx: ServiceContext, actor: Actor, transfer_id: str) -> TransferOut:
    """A transfer for its sender, or for a recipient who may still read some of it.

    A recipient whose access was withdrawn from every item is refused, and each
    refusal is recorded in the ledger: that is how ``custody receive`` of a revoked
    transfer ends up in the access report. Anyone else is told "no transfer", and that
    is a security event (their organisation's admins see it; identical ones are counted).
    """
    try:
        return _view(ctx, actor, transfer_id)
    except NotFound:
        record_alone(
            ctx,
            "access:refused",
            actor,
            detail=f"view of transfer {transfer_id[:40]}: not theirs to see",
        )
        raise


def _view(ctx: ServiceContext, actor: Actor, transfer_id: str) -> TransferOut:
    with ctx.unit_of_work() as session:
        transfer = visible_transfer(session, actor, transfer_id)
        if transfer.sender_id != actor.user_id and transfer.items:
            refusals = [refusal(ctx, session, actor, i, "fetch") for i in transfer.items]
            refused = [r for r in refusals if r is not None]
            if len(refused) == len(refusals):  # withdrawn from every item
                refuse(refused[0])
        return describe(session, transfer, actor)
