"""Who may read an item now, and the ledger entry when they may not."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from custody.domain.items import ItemState
from custody.domain.transfers import Event, TransferState, next_state
from custody.errors import Conflict, CustodyError, Gone, NotFound, RangeNotSatisfiable
from custody.ledger.events import EntryType
from custody.services import access, refusal_records
from custody.services.context import Actor, ServiceContext, refuse
from custody.services.ledger import record_item
from custody.store.models import Item, User

READABLE = frozenset({TransferState.SENT, TransferState.DELIVERED, TransferState.ACKNOWLEDGED})


def find_item(session: Session, item_id: str) -> Item:
    item = session.get(Item, item_id)
    if item is None:
        raise NotFound(f"no item {item_id}")
    return item


def _by(session: Session, user_id: str | None) -> str:
    """" by <who>" for a person who ended someone's access; the retention sweep is no one."""
    if not user_id:
        return ""
    user = session.get(User, user_id)
    return f" by {user.email}" if user is not None else f" by the {user_id}"


def refusal(
    ctx: ServiceContext, session: Session, actor: Actor, item: Item, action: str
) -> CustodyError | None:
    """Why ``actor`` may not read ``item`` now, recorded in the ledger; None if they may.

    The caller commits the refusal's entry and only then raises the error, so a
    refused attempt is in the ledger even though the request fails. The same refusal
    repeated within a minute is counted and summarised, not appended again
    (services/refusal_records.py): otherwise anyone could grow the public log at will.
    """
    transfer = item.transfer
    now = ctx.clock.now()
    wrap = access.live_wrap(session, item.id, actor.user_id)
    owner = transfer.sender_id == actor.user_id
    incident = None if owner else access.open_incident(session, item)
    expired = wrap is not None and access.is_expired(session, wrap, now)
    if wrap and not expired and incident is None and (owner or transfer.state in READABLE):
        return None
    ended = None if wrap else access.ended_grant(session, item.id, actor.user_id)
    error: CustodyError
    if incident is not None:
        reason = "incident"
        error = Gone(
            f"item {item.id} is frozen by incident {incident.id}, opened "
            f"{incident.opened_at:%Y-%m-%d %H:%M} UTC",
            hint="only its owners can fetch it now; ask the sending unit's admin",
        )
    elif expired:
        reason = "expired"
        error = Gone(f"your access to item {item.id} expired", hint="ask whoever shared it")
    elif ended is not None and ended.ended_at is not None:
        reason = ended.end_kind or "revoked"
        error = Gone(
            f"your access to item {item.id} {access.ENDINGS.get(reason, 'ended')} on "
            f"{ended.ended_at:%Y-%m-%d %H:%M} UTC{_by(session, ended.ended_by)}"
            + (f": {ended.end_reason}" if ended.end_reason else ""),
            hint="nothing was downloaded; ask the sender if you still need this material",
        )
    elif wrap and transfer.state != TransferState.DRAFT:
        reason = f"transfer {transfer.state}"
        error = Gone(f"this transfer was {transfer.state}")
    else:
        # A draft is invisible to its future recipients: the same answer as for strangers.
        reason = f"transfer {transfer.state}" if wrap else "not a reader"
        error = NotFound(f"no item {item.id}")
    data = {"action": action, "reason": reason}
    refusal_records.record_once(
        session,
        ctx,
        refusal_records.LEDGER,
        (actor.user_id, item.id, action, reason),
        lambda: str(
            record_item(ctx, session, EntryType.ACCESS_REFUSED, actor, item, data=data).index
        ),
    )
    return error


# Public name for the other services (sharing) that must refuse exactly as downloads do.


@dataclass(frozen=True)
class Download:
    """Bytes ``start`` to ``stop`` (exclusive) of an item's ciphertext, ``size`` in all."""

    blob_key: str
    size: int
    start: int
    stop: int


def readable_range(
    ctx: ServiceContext,
    session: Session,
    actor: Actor,
    item: Item,
    action: str,
    start: int,
    end: int | None,
) -> Download:
    """The range ``actor`` may read now (``end`` exclusive, None: to the end), or a refusal
    (recorded, see :func:`refusal`). A range outside the item is refused unrecorded."""
    refused = refusal(ctx, session, actor, item, action)
    if refused is not None:
        refuse(refused)
    if item.state != ItemState.SEALED or item.blob_key is None:
        raise Conflict(f"item {item.id} is not sealed yet")
    size = item.ciphertext_size
    stop = size if end is None else min(end, size)
    if start >= size or stop <= start:
        raise RangeNotSatisfiable(size)
    return Download(item.blob_key, size, start, stop)


def deliver(ctx: ServiceContext, item: Item, actor: Actor) -> None:
    """A recipient has fetched some of it: the transfer is delivered (the sender's or a
    share reader's fetch delivers nothing)."""
    transfer = item.transfer
    if any(r.user_id == actor.user_id for r in transfer.recipients):
        before = TransferState(transfer.state)
        transfer.state = next_state(before, Event.DOWNLOAD).value
        if before == TransferState.SENT:
            transfer.delivered_at = ctx.clock.now()
