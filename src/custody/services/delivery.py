"""Revocation: withdraw a transfer's readers at once, and tell them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from custody.domain.people import Role
from custody.domain.transfers import Event, TransferState, next_state
from custody.errors import Forbidden, InvalidInput, NotFound
from custody.ledger.events import EntryType
from custody.services import notes, outbox
from custody.services.access import end_access
from custody.services.context import Actor, ServiceContext
from custody.services.ledger import record
from custody.store.models import KeyWrap, Transfer, User

MAX_REASON = 300


def check_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise InvalidInput("give a reason", hint="--reason 'sent to the wrong unit'")
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"a reason can be at most {MAX_REASON} characters")
    return reason


@dataclass(frozen=True)
class Revoked:
    id: str
    state: str
    case: str


def revoke(ctx: ServiceContext, actor: Actor, transfer_id: str, reason: str) -> Revoked:
    """Delete every reader's wrap but the sender's and the recovery keys'; state revoked.

    Only the sender or an admin of the sending unit may; anyone else learns nothing.
    """
    reason = check_reason(reason)
    with ctx.unit_of_work() as session:
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
        transfer.state = next_state(TransferState(transfer.state), Event.REVOKE).value
        now = ctx.clock.now()
        wraps = list(
            session.scalars(
                select(KeyWrap).where(
                    KeyWrap.item_id.in_([i.id for i in transfer.items]),
                    KeyWrap.reader_user_id.is_not(None),
                    KeyWrap.reader_user_id != transfer.sender_id,
                )
            )
        )
        readers = sorted({w.reader_user_id for w in wraps if w.reader_user_id})
        end_access(session, wraps, kind="revoked", by=actor.user_id, reason=reason, at=now)
        note = notes.keep(ctx, session, reason)
        for item in transfer.items:
            record(
                ctx,
                session,
                EntryType.TRANSFER_REVOKED,
                actor,
                case=transfer.case_id,
                transfer=transfer.id,
                item=item.id,
                data={"readers": readers, **note},
            )
        people = session.scalars(select(User).where(User.id.in_(readers))).all()
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
        return Revoked(transfer.id, transfer.state, transfer.case.urn)
