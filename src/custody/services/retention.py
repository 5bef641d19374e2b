"""Retention, legal holds and crypto-shredding.

Shredding destroys every key wrap of an item (each grant is stamped ``shredded``)
and deletes its ciphertext blob; the item stays, as ``shredded``, and the ledger
keeps ``item:shredded`` with who and why. Without a wrap nobody — the recovery
keys included — can recover the item key, so every copy anywhere is unreadable.

The blob is deleted after the database change commits; until that succeeds the
item keeps its ``blob_key`` and the next sweep retries, so a crash leaves at
worst keyless ciphertext, never a readable item.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from custody.domain.cases import parse_urn
from custody.domain.people import Role
from custody.domain.retention import retention_end
from custody.domain.transfers import Event, TransferState, next_state
from custody.errors import Conflict, Forbidden, InvalidInput, NotFound
from custody.services.access import end_access
from custody.services.context import Actor, ServiceContext
from custody.services.delivery import check_reason
from custody.services.ledger import SYSTEM, record, record_item
from custody.store.models import Case, Item, KeyWrap, Transfer
from custody.store.models_delivery import CaseRetention, Retention

log = logging.getLogger("custody.retention")


@dataclass(frozen=True)
class Target:
    """What a retention or hold command acts on: one item, or every item of a case."""

    case: Case
    item: Item | None

    @property
    def label(self) -> str:
        return f"item {self.item.id}" if self.item else f"case {self.case.urn}"


def _parties(session: Session, case_id: str) -> set[str]:
    rows = session.execute(
        select(Transfer.sender_org_id, Transfer.recipient_org_id).where(Transfer.case_id == case_id)
    )
    return {org for pair in rows for org in pair}


def find_target(session: Session, actor: Actor, ref: str, *, hold: bool) -> Target:
    """Resolve ITEM|CASE and check the actor may manage it; strangers learn nothing."""
    item = session.get(Item, ref)
    case: Case | None
    if item is not None:
        case = session.get_one(Case, item.case_id)
    else:
        try:
            case = session.scalar(select(Case).where(Case.urn == parse_urn(ref)))
        except InvalidInput:
            case = None
    if case is None:
        raise NotFound(f"no item or case {ref}")
    admin = actor.role == Role.ADMIN.value
    orgs = {case.owner_org_id}
    if item is not None:
        orgs.add(item.transfer.sender_org_id)
    may = admin and actor.org_id in orgs
    if not hold and not may:
        may = actor.user_id == (item.transfer.sender_id if item else case.created_by)
    if may:
        return Target(case, item)
    if actor.org_id in orgs | _parties(session, case.id):
        who = "an admin of the owning organisation"
        raise Forbidden(
            f"only {who} can {'set a legal hold on' if hold else 'set the retention of'} this",
            hint=None if hold else f"ask the sender or {who}",
        )
    raise NotFound(f"no item or case {ref}")


def _item_row(session: Session, item_id: str) -> Retention:
    row = session.get(Retention, item_id)
    if row is None:
        row = Retention(item_id=item_id, legal_hold=False)
        session.add(row)
    return row


def _case_row(session: Session, case_id: str) -> CaseRetention:
    row = session.get(CaseRetention, case_id)
    if row is None:
        row = CaseRetention(case_id=case_id, legal_hold=False)
        session.add(row)
    return row


def set_retention(
    ctx: ServiceContext, actor: Actor, ref: str, *, until: str | None, for_: str | None
) -> tuple[str, datetime]:
    end = retention_end(ctx.clock.now(), until=until, for_=for_)
    with ctx.unit_of_work() as session:
        target = find_target(session, actor, ref, hold=False)
        if target.item is not None:
            if target.item.state == "shredded":
                raise Conflict(f"item {target.item.id} is already shredded")
            row: Retention | CaseRetention = _item_row(session, target.item.id)
        else:
            row = _case_row(session, target.case.id)
        row.retain_until, row.set_by = end, actor.user_id
        record(
            ctx,
            session,
            "retention:set",
            actor,
            case=target.case.id,
            item=target.item.id if target.item else None,
            data={"until": end.isoformat()},
        )
        return target.label, end


def set_hold(
    ctx: ServiceContext, actor: Actor, ref: str, reason: str, *, release: bool = False
) -> str:
    """Set (or release) a legal hold: while it stands, nothing in it is shredded."""
    reason = check_reason(reason)
    with ctx.unit_of_work() as session:
        target = find_target(session, actor, ref, hold=True)
        if target.item is not None:
            row: Retention | CaseRetention = _item_row(session, target.item.id)
        else:
            row = _case_row(session, target.case.id)
        if row.legal_hold != release:
            state = "not under" if release else "already under"
            raise Conflict(f"{target.label} is {state} a legal hold")
        if target.item is not None and target.item.state == "shredded":
            raise Conflict(f"item {target.item.id} is already shredded")
        row.legal_hold = not release
        row.hold_reason, row.hold_by = reason, actor.user_id
        record(
            ctx,
            session,
            "retention:hold_released" if release else "retention:hold_set",
            actor,
            case=target.case.id,
            item=target.item.id if target.item else None,
            data={"reason": reason},
        )
        return target.label


def _held(session: Session, item: Item) -> str | None:
    row, case_row = session.get(Retention, item.id), session.get(CaseRetention, item.case_id)
    for held in (row, case_row):
        if held is not None and held.legal_hold:
            return held.hold_reason or "legal hold"
    return None


def shred(
    ctx: ServiceContext, item_id: str, reason: str, *, by: Actor | str, operator: str | None = None
) -> int:
    """Destroy every wrap of the item and its blob; return the number of wraps destroyed.

    ``by`` is the person (an Actor), ``"operator"`` (the server's operator, named by
    ``operator``: their login on the server machine) or ``SYSTEM`` (the retention sweep).
    """
    reason = check_reason(reason)
    by_id = by.user_id if isinstance(by, Actor) else by
    with ctx.unit_of_work() as session:
        item = session.get(Item, item_id, with_for_update=True)
        if item is None:
            raise NotFound(f"no item {item_id}")
        if item.state == "shredded":
            row = session.get(Retention, item.id)
            when = f" on {row.shredded_at:%Y-%m-%d %H:%M} UTC" if row and row.shredded_at else ""
            raise Conflict(f"item {item_id} was already shredded{when}")
        held = _held(session, item)
        if held is not None:
            raise Conflict(
                f"item {item_id} is under a legal hold ({held})",
                hint="an admin of the owning organisation must release it first: custody hold "
                "--release",
            )
        now = ctx.clock.now()
        wraps = list(session.scalars(select(KeyWrap).where(KeyWrap.item_id == item.id)))
        end_access(session, wraps, kind="shredded", by=by_id, reason=reason, at=now)
        item.state = "shredded"
        row = _item_row(session, item.id)
        row.shredded_at, row.shredded_by, row.shred_reason = now, by_id, reason
        transfer = item.transfer
        if all(i.state == "shredded" for i in transfer.items):
            with contextlib.suppress(Conflict):  # a draft or cancelled transfer keeps its state
                transfer.state = next_state(TransferState(transfer.state), Event.EXPIRE).value
        record_item(
            ctx,
            session,
            "item:shredded",
            by,
            item,
            data={
                "reason": reason,
                "by": operator or (by.email if isinstance(by, Actor) else by_id),
                "wraps_destroyed": len(wraps),
            },
        )
    delete_blob(ctx, item_id)
    return len(wraps)


def delete_blob(ctx: ServiceContext, item_id: str) -> bool:
    """Delete a shredded item's blob; False (and retried by the sweep) if the store failed."""
    with ctx.unit_of_work() as session:
        item = session.get_one(Item, item_id)
        key = item.blob_key
    if key is None:
        return True
    try:
        ctx.blobs.delete(key)
    except Exception:  # any store failure: the item is keyless already; retry next sweep
        log.exception("could not delete the blob of shredded item %s", item_id)
        return False
    with ctx.unit_of_work() as session:
        session.get_one(Item, item_id).blob_key = None
    return True


def due_items(session: Session, now: datetime) -> list[str]:
    """Items whose retention (their own date, else their case's) has passed."""
    rows = session.execute(
        select(Item.id, Retention.retain_until, CaseRetention.retain_until)
        .outerjoin(Retention, Retention.item_id == Item.id)
        .outerjoin(CaseRetention, CaseRetention.case_id == Item.case_id)
        .where(
            Item.state != "shredded",
            or_(Retention.retain_until <= now, CaseRetention.retain_until <= now),
        )
    )
    due = []
    for item_id, own, of_case in rows:
        end = own or of_case  # the item's own date wins over its case's
        if end is not None and end <= now:
            due.append(item_id)
    return due


def sweep(ctx: ServiceContext) -> int:
    """Shred every item whose retention ended and is not held; retry unfinished blob deletes."""
    now = ctx.clock.now()
    with ctx.unit_of_work() as session:
        due = due_items(session, now)
        leftover = list(
            session.scalars(
                select(Item.id).where(Item.state == "shredded", Item.blob_key.is_not(None))
            )
        )
    shredded = 0
    for item_id in due:
        try:
            shred(ctx, item_id, "its retention period ended", by=SYSTEM)
            shredded += 1
        except Conflict:
            continue  # held, or another process shredded it first
    for item_id in leftover:
        delete_blob(ctx, item_id)
    return shredded
