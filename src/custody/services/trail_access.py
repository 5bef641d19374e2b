"""Which items' trails an actor may read: parties to a transfer, their auditors, unit admins.

Auditors read the custody trail of any sent transfer from or to their own
organisation; unit admins that of any sent transfer from their unit (the sender
is in it) or to it (addressed to the unit, or a recipient is in it). Neither
ever reads content: they hold no key wraps, and content routes refuse their
roles before any of this is asked.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from custody.domain.people import Role
from custody.domain.transfers import TransferState
from custody.errors import NotFound
from custody.services.context import Actor
from custody.services.transfers import find_item_ids
from custody.store.models import Item, Transfer, User


def unit_admin_reaches(session: Session, actor: Actor, transfer: Transfer) -> bool:
    """Whether ``actor``, a unit admin, oversees ``transfer``: sent from or to their unit."""
    if actor.role != Role.UNIT_ADMIN:
        return False
    unit_id = session.scalar(select(User.unit_id).where(User.id == actor.user_id))
    if unit_id is None:
        return False
    if transfer.recipient_unit_id == unit_id:
        return True
    people = [transfer.sender_id, *(r.user_id for r in transfer.recipients)]
    in_unit = session.scalar(
        select(User.id).where(User.id.in_(people), User.unit_id == unit_id).limit(1)
    )
    return in_unit is not None


def trail_item_ids(session: Session, actor: Actor, ref: str) -> list[str]:
    """The item ids behind ``ref`` (an item or a transfer) whose trails ``actor`` may read."""
    if actor.role not in (Role.AUDITOR, Role.UNIT_ADMIN):
        return find_item_ids(session, actor, ref)[0]
    item = session.get(Item, ref)
    transfer = session.get(Transfer, item.transfer_id if item else ref)
    if transfer is None or transfer.state == TransferState.DRAFT:
        raise NotFound(f"no item or transfer {ref}")
    if actor.role == Role.AUDITOR:
        allowed = actor.org_id in (transfer.sender_org_id, transfer.recipient_org_id)
    else:
        allowed = unit_admin_reaches(session, actor, transfer)
    if not allowed:
        raise NotFound(f"no item or transfer {ref}")  # no oracle for other organisations or units
    return [item.id] if item else [i.id for i in transfer.items]
