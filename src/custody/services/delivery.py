"""Revocation: withdraw a transfer's readers at once, and tell them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from custody.domain.people import Role
from custody.domain.transfers import Event, TransferState, next_state
from custody.errors import Forbidden, InvalidInput, NotFound
from custody.ledger.events import EntryType
from custody.protocol.assurance import TransferStateOut
from custody.services import notes, outbox
from custody.services.access import end_access
from custody.services.context import Actor, ServiceContext
from custody.services.ledger import record_items
from custody.store.models import Item, KeyWrap, Transfer, User

MAX_REASON = 300


def check_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise InvalidInput("give a reason", hint="--reason 'sent to the wrong unit'")
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"a reason can be at most {MAX_REASON} characters")
    return reason


# What withdrawing access records on each item, by why it was withdrawn.
_WITHDRAWN = {"revoked": EntryType.TRANSFER_REVOKED, "incident": EntryType.INCIDENT_OPENED}


def withdraw(
    ctx: ServiceContext,
    session: Session,
    actor: Actor,
    transfer: Transfer,
    reason: str,
    why: Literal["revoked", "incident"],
    items: list[Item] | None = None,
    data: Mapping[str, Any] | None = None,
) -> list[User]:
    """End every person's access to ``items`` (all the transfer's) but the sender's: the
    organisations' recovery keys keep theirs, so the material can still be examined. Each
    item's trail records it, with the reason and who lost access: the people returned."""
    items = list(transfer.items) if items is None else items
    wraps = list(
        session.scalars(
            select(KeyWrap).where(
                KeyWrap.item_id.in_([i.id for i in items]),
                KeyWrap.reader_user_id.is_not(None),
                KeyWrap.reader_user_id != transfer.sender_id,
            )
        )
    )
    readers = sorted({w.reader_user_id for w in wraps if w.reader_user_id})
    end_access(session, wraps, kind=why, by=actor.user_id, reason=reason, at=ctx.clock.now())
    note = notes.keep(ctx, session, reason)
    recorded = {**(data or {}), **note}
    record_items(ctx, session, _WITHDRAWN[why], actor, items, recorded, ("readers", readers))
    return list(session.scalars(select(User).where(User.id.in_(readers))))


def _revocable(session: Session, actor: Actor, transfer_id: str) -> Transfer:
    """The transfer, if ``actor`` may revoke it: its sender, or an admin of the sending
    organisation. A recipient is told they may not; anyone else that there is no transfer."""
    transfer = session.get(Transfer, transfer_id)
    is_admin = (
        transfer is not None
        and actor.role == Role.ADMIN.value
        and actor.org_id == transfer.sender_org_id
    )
    if transfer is None or not (transfer.sender_id == actor.user_id or is_admin):
        visible = transfer is not None and any(
            r.user_id == actor.user_id for r in transfer.recipients
        )
        if visible:
            raise Forbidden(
                "only the sender or an admin of the sending unit can revoke a transfer",
                hint="if the material is at risk, tell the sender or open an incident",
            )
        raise NotFound(f"no transfer {transfer_id}")
    return transfer


def revocable(ctx: ServiceContext, actor: Actor, transfer_id: str) -> TransferStateOut:
    """What a revocation would act on, for the person who would confirm it (nothing changes);
    refused as :func:`revoke` would refuse, and if the transfer cannot be revoked now."""
    with ctx.unit_of_work() as session:
        transfer = _revocable(session, actor, transfer_id)
        next_state(TransferState(transfer.state), Event.REVOKE)  # a Conflict if it cannot be
        return TransferStateOut(id=transfer.id, state=transfer.state, case=transfer.case.urn)


def revoke(ctx: ServiceContext, actor: Actor, transfer_id: str, reason: str) -> TransferStateOut:
    """Delete every reader's wrap but the sender's and the recovery keys'; state revoked.

    Only the sender or an admin of the sending unit may; anyone else learns nothing.
    """
    reason = check_reason(reason)
    with ctx.unit_of_work() as session:
        transfer = _revocable(session, actor, transfer_id)
        transfer.state = next_state(TransferState(transfer.state), Event.REVOKE).value
        people = withdraw(ctx, session, actor, transfer, reason, "revoked")
        outbox.enqueue(
            ctx,
            session,
            subject_id=transfer.id,
            kind="revoked",
            people=people,
            org_ids=[transfer.recipient_org_id],
            message=outbox.Message(
                f"Revoked: transfer {transfer.id} (case {transfer.case.urn})",
                f"Your access to transfer {transfer.id} for case {transfer.case.urn} was revoked "
                f"by {actor.email}: {reason}\nDelete any copy you received and tell your admin "
                "if you passed it on.\n",
                {"event": "transfer.revoked", "transfer": transfer.id, "case": transfer.case.urn},
            ),
        )
        return TransferStateOut(id=transfer.id, state=transfer.state, case=transfer.case.urn)
