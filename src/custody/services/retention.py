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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from custody import faults
from custody.domain.cases import parse_urn
from custody.domain.items import ItemState
from custody.domain.people import CONTENT_ROLES, Role
from custody.domain.retention import retention_end
from custody.domain.transfers import Event, TransferState, next_state
from custody.errors import Conflict, Forbidden, InvalidInput, NotFound
from custody.ledger.events import EntryType
from custody.protocol.assurance import HoldOut, RetentionOut
from custody.services import notes
from custody.services.access import end_access
from custody.services.context import Actor, Origin, ServiceContext
from custody.services.delivery import check_reason
from custody.services.ledger import SYSTEM, record, record_item
from custody.services.security_events import record_event
from custody.store.db import lookup
from custody.store.models import Case, Item, KeyWrap, Organisation, Transfer, User
from custody.store.models_delivery import AccessGrant, CaseRetention, LegalHold, Retention

log = logging.getLogger("custody.retention")


@dataclass(frozen=True)
class Target:
    """What a retention command acts on: one item, or every item of one organisation's case."""

    case: Case
    item: Item | None

    @property
    def label(self) -> str:
        return f"item {self.item.id}" if self.item else f"case {self.case.urn}"


def holders(session: Session, item: Item) -> set[str]:
    """The organisations that hold ``item``: its sender's, its recipients' once it was sent,
    and any it was shared with."""
    transfer = item.transfer
    orgs = {transfer.sender_org_id}
    if transfer.state != TransferState.DRAFT:
        orgs.add(transfer.recipient_org_id)
    orgs.update(
        org
        for org in session.scalars(
            select(AccessGrant.reader_org_id).where(
                AccessGrant.item_id == item.id, AccessGrant.kind == "share"
            )
        )
        if org is not None
    )
    return orgs


def _held_by_person(session: Session, actor: Actor, item: Item) -> bool:
    """The actor sent the item or was ever given a key to it (recipient, share)."""
    if item.transfer.sender_id == actor.user_id:
        return True
    granted = select(AccessGrant.id).where(
        AccessGrant.item_id == item.id, AccessGrant.reader_user_id == actor.user_id
    )
    return session.scalar(granted.limit(1)) is not None


def _item(session: Session, ref: str) -> Item | None:
    return session.get(Item, ref.strip()) if len(ref.strip()) == 36 else None


def _own_case(session: Session, actor: Actor, ref: str) -> Case:
    """The actor's organisation's case ``ref``; nobody learns about another's."""
    try:
        urn = parse_urn(ref)
    except InvalidInput:
        raise NotFound(f"no item or case {ref}") from None
    case = session.scalar(select(Case).where(Case.owner_org_id == actor.org_id, Case.urn == urn))
    if case is None:
        raise NotFound(f"your organisation has no case {urn}", hint=f"custody case create {urn}")
    return case


def find_target(session: Session, actor: Actor, ref: str) -> Target:
    """Resolve ITEM|CASE for a retention date: only the material's own organisation sets it.

    An item's retention is set by its sender or an admin of the sending organisation; a
    case's by whoever opened it or an admin of its organisation. A holder of the item is
    told to use a legal hold instead; anyone else learns nothing.
    """
    item = _item(session, ref)
    if item is None:
        case = _own_case(session, actor, ref)
        if actor.user_id == case.created_by or actor.role == Role.ADMIN:
            return Target(case, None)
        raise Forbidden(
            f"only whoever opened case {case.urn} or an admin of your organisation sets its "
            "retention",
            hint="ask them, or keep material from destruction with a legal hold: custody hold",
        )
    transfer = item.transfer
    owner = transfer.sender_org_id == actor.org_id
    if transfer.sender_id == actor.user_id or (owner and actor.role == Role.ADMIN):
        return Target(session.get_one(Case, item.case_id), item)
    if actor.org_id in holders(session, item):
        raise Forbidden(
            f"the retention of item {item.id} is set by the organisation that sent it (its "
            "sender or one of its admins)",
            hint=f"to keep it from destruction, put it under a legal hold: custody hold {item.id}"
            " --reason ...",
        )
    raise NotFound(f"no item or case {ref}")


_Row = TypeVar("_Row", Retention, CaseRetention)


def _row(session: Session, model: type[_Row], **key: str) -> _Row:
    """The ``model`` row of an item or a case (``key``: its one primary key), added if none."""
    row = session.get(model, next(iter(key.values())))
    if row is None:
        row = model(**key)
        session.add(row)
    return row


def set_retention(
    ctx: ServiceContext, actor: Actor, ref: str, *, until: str | None, for_: str | None
) -> RetentionOut:
    end = retention_end(ctx.clock.now(), until=until, for_=for_)
    with ctx.unit_of_work() as session:
        target = find_target(session, actor, ref)
        if target.item is not None:
            if target.item.state == ItemState.SHREDDED:
                raise Conflict(f"item {target.item.id} is already shredded")
            row: Retention | CaseRetention = _row(session, Retention, item_id=target.item.id)
        else:
            row = _row(session, CaseRetention, case_id=target.case.id)
        row.retain_until, row.set_by = end, actor.user_id
        record(
            ctx,
            session,
            EntryType.RETENTION_SET,
            actor,
            case=target.case.id,
            item=target.item.id if target.item else None,
            data={"until": end.isoformat()},
        )
        return RetentionOut(target=target.label, retain_until=end)


@dataclass(frozen=True)
class HoldScope:
    """What a legal hold covers: one item, or all the organisation holds for a URN."""

    item: Item | None
    urn: str
    case_id: str | None  # the organisation's own case of that URN, if it has one

    @property
    def label(self) -> str:
        return f"item {self.item.id}" if self.item else f"case {self.urn}"


def _hold_scope(session: Session, actor: Actor, ref: str) -> HoldScope:
    """Resolve ITEM|CASE for a hold by ``actor``'s organisation, which must hold it.

    Holds belong to whoever holds the material: an admin of a holding organisation, or a
    person who sent it or was given a key to it; for a whole case, an admin or a content
    role of an organisation that holds material of that case.
    """
    item = _item(session, ref)
    if item is not None:
        if actor.org_id not in holders(session, item):
            raise NotFound(f"no item or case {ref}")
        if actor.role != Role.ADMIN and not _held_by_person(session, actor, item):
            raise Forbidden(
                f"only an admin of your organisation, or someone who holds item {item.id}, can "
                "put it under a legal hold",
                hint="ask your organisation admin",
            )
        case = session.get_one(Case, item.case_id)
        own = case.id if case.owner_org_id == actor.org_id else None
        return HoldScope(item, case.urn, own)
    try:
        urn = parse_urn(ref)
    except InvalidInput:
        raise NotFound(f"no item or case {ref}") from None
    if actor.role != Role.ADMIN and actor.role not in CONTENT_ROLES:
        raise Forbidden(f"a {actor.role} does not put material under a legal hold")
    if not _org_holds_urn(session, actor.org_id, urn):
        raise NotFound(f"your organisation holds no material for case {urn}")
    own_case = session.scalar(
        select(Case.id).where(Case.owner_org_id == actor.org_id, Case.urn == urn)
    )
    return HoldScope(None, urn, own_case)


def _org_holds_urn(session: Session, org_id: str, urn: str) -> bool:
    """Whether the organisation sent, received or was shared any item of case ``urn``."""
    shared = select(AccessGrant.item_id).where(
        AccessGrant.kind == "share", AccessGrant.reader_org_id == org_id
    )
    found = session.scalar(
        select(Item.id)
        .join(Transfer, Transfer.id == Item.transfer_id)
        .join(Case, Case.id == Item.case_id)
        .where(
            Case.urn == urn,
            (Transfer.sender_org_id == org_id)
            | ((Transfer.recipient_org_id == org_id) & (Transfer.state != TransferState.DRAFT))
            | Item.id.in_(shared),
        )
        .limit(1)
    )
    return found is not None


def _standing(session: Session, org_id: str, scope: HoldScope) -> LegalHold | None:
    where = LegalHold.item_id == scope.item.id if scope.item else LegalHold.urn == scope.urn
    return session.scalar(
        select(LegalHold).where(LegalHold.org_id == org_id, where, LegalHold.released_at.is_(None))
    )


def set_hold(
    ctx: ServiceContext, actor: Actor, ref: str, reason: str, *, release: bool = False
) -> HoldOut:
    """Set (or release) a legal hold of the actor's organisation: while any organisation's
    hold stands on an item, nothing shreds it. Only the holding organisation releases its own."""
    reason = check_reason(reason)
    with ctx.unit_of_work() as session:
        scope = _hold_scope(session, actor, ref)
        standing = _standing(session, actor.org_id, scope)
        now = ctx.clock.now()
        if release:
            if standing is None:
                raise Conflict(f"{scope.label} is not under a legal hold of your organisation")
            if actor.role != Role.ADMIN and standing.set_by != actor.user_id:
                raise Forbidden(
                    "only whoever set this hold or an admin of your organisation releases it"
                )
            standing.released_at, standing.released_by = now, actor.user_id
            hold = standing
        else:
            if standing is not None:
                raise Conflict(f"{scope.label} is already under a legal hold of your organisation")
            if scope.item is not None and scope.item.state == ItemState.SHREDDED:
                raise Conflict(f"item {scope.item.id} is already shredded")
            hold = LegalHold(
                org_id=actor.org_id,
                item_id=scope.item.id if scope.item else None,
                urn=None if scope.item else scope.urn,
                reason=reason,
                set_by=actor.user_id,
                set_at=now,
            )
            session.add(hold)
            session.flush()
        record(
            ctx,
            session,
            EntryType.RETENTION_HOLD_RELEASED if release else EntryType.RETENTION_HOLD_SET,
            actor,
            case=scope.item.case_id if scope.item else scope.case_id,
            transfer=scope.item.transfer_id if scope.item else None,
            item=scope.item.id if scope.item else None,
            data={"hold": hold.id, "org": actor.org_id, **notes.keep(ctx, session, reason)},
        )
        return HoldOut(target=scope.label, legal_hold=not release)


def _held(session: Session, item: Item) -> LegalHold | None:
    """A standing hold on ``item``: on it, or on its case by an organisation that holds it."""
    urn = session.get_one(Case, item.case_id).urn
    return session.scalar(
        select(LegalHold)
        .where(
            LegalHold.released_at.is_(None),
            (LegalHold.item_id == item.id)
            | ((LegalHold.urn == urn) & LegalHold.org_id.in_(holders(session, item))),
        )
        .order_by(LegalHold.set_at)
        .limit(1)
    )


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
        if item.state == ItemState.SHREDDED:
            row = session.get(Retention, item.id)
            when = f" on {row.shredded_at:%Y-%m-%d %H:%M} UTC" if row and row.shredded_at else ""
            raise Conflict(f"item {item_id} was already shredded{when}")
        held = _held(session, item)
        if held is not None:
            org = session.get_one(Organisation, held.org_id)
            raise Conflict(
                f"item {item_id} is under a legal hold of {org.name} since "
                f"{held.set_at:%Y-%m-%d}: {held.reason}",
                hint=f"{org.name} must release it first: custody hold --release",
            )
        now = ctx.clock.now()
        wraps = list(session.scalars(select(KeyWrap).where(KeyWrap.item_id == item.id)))
        end_access(session, wraps, kind="shredded", by=by_id, reason=reason, at=now)
        item.state = ItemState.SHREDDED
        row = _row(session, Retention, item_id=item.id)
        row.shredded_at, row.shredded_by, row.shred_reason = now, by_id, reason
        transfer = item.transfer
        if all(i.state == ItemState.SHREDDED for i in transfer.items):
            with contextlib.suppress(Conflict):  # a draft or cancelled transfer keeps its state
                transfer.state = next_state(TransferState(transfer.state), Event.EXPIRE).value
        record_item(
            ctx,
            session,
            EntryType.ITEM_SHREDDED,
            by,
            item,
            data={"wraps_destroyed": len(wraps), **notes.keep(ctx, session, reason)},
        )
        if operator:  # which operator, by name: personal data, kept beside the public log
            record_event(
                ctx, session, "item:shredded", Origin(), detail=f"item {item.id} by {operator}"
            )
    faults.point("shred.before_blob_delete")
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
            Item.state != ItemState.SHREDDED,
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
                select(Item.id).where(Item.state == ItemState.SHREDDED, Item.blob_key.is_not(None))
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


@dataclass(frozen=True)
class HoldView:
    """A standing legal hold of the reader's organisation."""

    id: str
    target: str  # "item ID" or "case URN"
    reason: str
    set_by: str  # an e-mail address
    set_at: datetime
    mine: bool  # set by the reader: they may lift it (an admin may lift any)


@dataclass(frozen=True)
class ItemRetention:
    id: str
    state: str
    retain_until: datetime | None  # its own date


@dataclass(frozen=True)
class RetentionStatus:
    """What a retention page shows about one item or one case, for one reader: the dates,
    the reader's organisation's holds, and what the reader may do (a reason if not)."""

    ref: str
    label: str
    urn: str
    item: ItemRetention | None
    case_until: datetime | None  # the case's date (for an item: its sender's case's)
    shredded_at: datetime | None
    holds: list[HoldView]
    held: bool  # some hold (of any organisation holding it) keeps it from shredding
    items: list[ItemRetention]  # for a case of the reader's organisation: its items
    cannot_set: str | None  # why the reader may not set the date, or None
    cannot_hold: str | None  # why the reader may not place a hold, or None

    @property
    def effective(self) -> datetime | None:
        """When it is to be shredded: the item's own date, else its case's."""
        own = self.item.retain_until if self.item else None
        return own or self.case_until


def _why_not(check: Callable[[], object]) -> str | None:
    try:
        check()
    except (Forbidden, NotFound) as exc:
        return exc.message
    return None


def status(ctx: ServiceContext, actor: Actor, ref: str) -> RetentionStatus:
    """Retention and holds of an item or a case (URN) the actor's organisation holds; anyone
    else learns nothing (``no item or case``). Reading changes nothing."""
    ref = ref.strip()
    case_id: str | None
    with ctx.unit_of_work() as session:
        item = _item(session, ref)
        if item is not None:
            if actor.org_id not in holders(session, item):
                raise NotFound(f"no item or case {ref}")
            case = session.get_one(Case, item.case_id)
            urn, case_id = case.urn, case.id
            own = session.get(Retention, item.id)
            covers = LegalHold.item_id == item.id
            if case.owner_org_id == actor.org_id:
                covers = covers | (LegalHold.urn == urn)
            held = _held(session, item) is not None
        else:
            try:
                urn = parse_urn(ref)
            except InvalidInput:
                raise NotFound(f"no item or case {ref}") from None
            owned = session.scalar(
                select(Case).where(Case.owner_org_id == actor.org_id, Case.urn == urn)
            )
            if owned is None and not _org_holds_urn(session, actor.org_id, urn):
                raise NotFound(f"no item or case {ref}")
            case_id = owned.id if owned else None
            own = None
            in_case = select(Item.id).join(Case, Case.id == Item.case_id).where(Case.urn == urn)
            covers = (LegalHold.urn == urn) | LegalHold.item_id.in_(in_case)
            held = False
        standing = list(
            session.scalars(
                select(LegalHold)
                .where(LegalHold.org_id == actor.org_id, LegalHold.released_at.is_(None), covers)
                .order_by(LegalHold.set_at)
            )
        )
        if item is None:  # a case: held as a whole by a case-wide hold
            held = any(h.item_id is None for h in standing)
        emails = lookup(session, User.id, User.email, {h.set_by for h in standing})
        holds = [
            HoldView(
                h.id,
                f"item {h.item_id}" if h.item_id else f"case {h.urn}",
                h.reason,
                emails.get(h.set_by, "?"),
                h.set_at,
                h.set_by == actor.user_id,
            )
            for h in standing
        ]
        case_row = session.get(CaseRetention, case_id) if case_id else None
        items: list[ItemRetention] = []
        if item is None and case_id is not None:
            rows = session.execute(
                select(Item.id, Item.state, Retention.retain_until)
                .outerjoin(Retention, Retention.item_id == Item.id)
                .where(Item.case_id == case_id)
                .order_by(Item.created_at, Item.id)
                .limit(200)
            )
            items = [ItemRetention(i, s, until) for i, s, until in rows]
        return RetentionStatus(
            ref=ref,
            label=f"item {item.id}" if item else f"case {urn}",
            urn=urn,
            item=ItemRetention(item.id, item.state, own.retain_until if own else None)
            if item
            else None,
            case_until=case_row.retain_until if case_row else None,
            shredded_at=own.shredded_at if own else None,
            holds=holds,
            held=held,
            items=items,
            cannot_set=_why_not(lambda: find_target(session, actor, ref)),
            cannot_hold=_why_not(lambda: _hold_scope(session, actor, ref)),
        )
