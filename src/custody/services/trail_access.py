"""Which items' trails an actor may read: parties to a transfer, and their auditors.

Auditors read the custody trail of any sent transfer from or to their own
organisation, but never content: they hold no key wraps, and content routes
refuse their role before any of this is asked.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from custody.domain.people import Role
from custody.domain.transfers import TransferState
from custody.errors import NotFound
from custody.services.context import Actor
from custody.services.transfers import find_item_ids
from custody.store.models import Item, Transfer


def trail_item_ids(session: Session, actor: Actor, ref: str) -> list[str]:
    """The item ids behind ``ref`` (an item or a transfer) whose trails ``actor`` may read."""
    if actor.role != Role.AUDITOR:
        return find_item_ids(session, actor, ref)[0]
    item = session.get(Item, ref)
    transfer = session.get(Transfer, item.transfer_id if item else ref)
    if (
        transfer is None
        or transfer.state == TransferState.DRAFT
        or actor.org_id not in (transfer.sender_org_id, transfer.recipient_org_id)
    ):
        raise NotFound(f"no item or transfer {ref}")  # no oracle for other organisations
    return [item.id] if item else [i.id for i in transfer.items]
