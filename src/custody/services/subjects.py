"""Data-subject references on items: pseudonymous, opaque to the server, never names.

An incident's impact report lists them, so the organisation can tell the people
concerned without the server ever holding who they are.
"""

from __future__ import annotations

from sqlalchemy import select

from custody.domain.retention import check_subject
from custody.domain.transfers import TransferState
from custody.errors import Conflict, InvalidInput, NotFound
from custody.ledger.events import EntryType
from custody.services.context import Actor, ServiceContext
from custody.services.ledger import record_item
from custody.store.models import Transfer
from custody.store.models_delivery import ItemSubject

MAX_SUBJECTS = 100


def attach(ctx: ServiceContext, actor: Actor, transfer_id: str, references: list[str]) -> None:
    """Attach references to every item of the sender's own draft (again: no change)."""
    refs = sorted({check_subject(r) for r in references})
    if not refs or len(refs) > MAX_SUBJECTS:
        raise InvalidInput(f"give 1 to {MAX_SUBJECTS} subject references")
    with ctx.unit_of_work() as session:
        transfer = session.get(Transfer, transfer_id)
        if transfer is None or transfer.sender_id != actor.user_id:
            raise NotFound(f"no transfer {transfer_id} of yours")
        if transfer.state != TransferState.DRAFT:
            raise Conflict("subjects can only be attached before the transfer is sent")
        for item in transfer.items:
            have = set(
                session.scalars(select(ItemSubject.reference).where(ItemSubject.item_id == item.id))
            )
            new = [r for r in refs if r not in have]
            session.add_all(ItemSubject(item_id=item.id, reference=r) for r in new)
            if new:
                record_item(ctx, session, EntryType.ITEM_SUBJECTS, actor, item, {"count": len(new)})
