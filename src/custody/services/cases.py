"""Cases, by their URN: each organisation opens its own.

A URN is the police's reference, and the prosecution, the court and the defence
all use it; so a case belongs to an organisation, and two organisations may each
hold URN 47XX1234567 as their own case, with their own material, retention and
holds. Opening a case says nothing about whether another organisation has one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from custody.domain.cases import parse_urn
from custody.domain.people import require_content_role
from custody.domain.transfers import TransferState
from custody.errors import Conflict, NotFound
from custody.ledger.events import EntryType
from custody.protocol.transfers import CaseOut, CasePage, CaseSummaryOut, TransferOut
from custody.services.context import Actor, ServiceContext
from custody.services.ledger import TrailEntry, describe, record
from custody.services.paging import Window, newest_first, next_cursor
from custody.services.security_events import record_alone
from custody.services.transfer_views import describe_many
from custody.store.db import lookup
from custody.store.ledger_store import LedgerStore
from custody.store.models import Case, Item, Organisation, Transfer, TransferRecipient


def create_case(ctx: ServiceContext, actor: Actor, urn: str) -> CaseOut:
    urn = parse_urn(urn)
    require_content_role(actor.role)
    with ctx.unit_of_work() as session:
        existing = select(Case).where(Case.owner_org_id == actor.org_id, Case.urn == urn)
        if session.scalar(existing):
            raise Conflict(f"your organisation has opened case {urn} already")
        case = Case(
            urn=urn, owner_org_id=actor.org_id, created_by=actor.user_id, created_at=ctx.clock.now()
        )
        session.add(case)
        session.flush()
        record(ctx, session, EntryType.CASE_CREATED, actor, case=case.id)
        return CaseOut(id=case.id, urn=case.urn)


def find_case(session: Session, org_id: str, urn: str) -> Case:
    """The organisation's own case ``urn``."""
    case = session.scalar(
        select(Case).where(Case.owner_org_id == org_id, Case.urn == parse_urn(urn))
    )
    if case is None:
        raise NotFound(
            f"your organisation has no case {urn}", hint=f"open it first: custody case create {urn}"
        )
    return case


def cases_of(ctx: ServiceContext, actor: Actor, window: Window | None = None) -> CasePage:
    """The cases the actor opened, sent material for or received material of (a draft is
    nobody's but its sender's), newest opened first, each with the actor's own transfers."""
    mine = _mine(actor)
    with ctx.unit_of_work() as session:
        stmt = select(Case).where(
            or_(Case.created_by == actor.user_id, Case.id.in_(select(Transfer.case_id).where(mine)))
        )
        rows, more = newest_first(session, stmt, Case.created_at, Case.id, window or Window())
        cases: list[Case] = [row[0] for row in rows]
        transfers = list(
            session.scalars(
                select(Transfer)
                .where(Transfer.case_id.in_([c.id for c in cases]), mine)
                .order_by(Transfer.created_at.desc(), Transfer.id.desc())
            )
        )
        counts: dict[str, int] = dict(
            session.execute(  # lookup's shape, grouped
                select(Item.transfer_id, func.count())
                .where(Item.transfer_id.in_([t.id for t in transfers]))
                .group_by(Item.transfer_id)
            ).all()
        )
        orgs = lookup(session, Organisation.id, Organisation.name, {c.owner_org_id for c in cases})
        summaries = []
        for case in cases:
            its = [t for t in transfers if t.case_id == case.id]
            sent = [t for t in its if t.sender_id == actor.user_id]
            summaries.append(
                CaseSummaryOut(
                    id=case.id,
                    urn=case.urn,
                    org=orgs.get(case.owner_org_id, "?"),
                    opened_at=case.created_at,
                    transfers=[t.id for t in its],
                    sent=len(sent),
                    received=len(its) - len(sent),
                    items=sum(counts.get(t.id, 0) for t in its),
                    latest_at=max([t.sent_at or t.created_at for t in its] or [case.created_at]),
                )
            )
        return CasePage(
            cases=summaries, next=next_cursor(cases, more, lambda c: (c.created_at, c.id))
        )


@dataclass(frozen=True)
class CaseView:
    """A case URN as the actor knows it: whether their organisation opened it, and a page of
    the transfers of it they sent or received (any organisation's case of that URN), each
    item with its custody trail from the ledger."""

    urn: str
    opened_at: datetime | None  # by the actor's organisation, if it opened the case
    transfers: list[TransferOut]
    trails: dict[str, list[TrailEntry]]  # item id -> its entries, in log order
    next: str | None


CASE_PAGE = 20  # transfers a case page shows, each with its items' trails


def case_view(ctx: ServiceContext, actor: Actor, urn: str, after: str | None = None) -> CaseView:
    """Case ``urn``: the actor's transfers of it, newest first, a page at a time.

    "No case" unless the actor's organisation opened it, or the actor sent or received
    material of it; that answer says nothing about other organisations' cases, and it is a
    security event (their organisation's admins see it; it names no URN)."""
    urn = parse_urn(urn)
    try:
        return _case_view(ctx, actor, urn, after)
    except NotFound:
        record_alone(ctx, "access:refused", actor, detail="view of a case: none of theirs")
        raise


def _case_view(ctx: ServiceContext, actor: Actor, urn: str, after: str | None) -> CaseView:
    with ctx.unit_of_work() as session:
        own = session.scalar(select(Case).where(Case.owner_org_id == actor.org_id, Case.urn == urn))
        stmt = (
            select(Transfer)
            .join(Case, Case.id == Transfer.case_id)
            .where(Case.urn == urn, _mine(actor))
        )
        rows, more = newest_first(
            session, stmt, Transfer.created_at, Transfer.id, Window(CASE_PAGE, after)
        )
        found: list[Transfer] = [row[0] for row in rows]
        if own is None and not found and after is None:
            raise NotFound(
                f"no case {urn} of yours",
                hint="a case shows here once your organisation opens it, or once you send or "
                "receive material of it",
            )
        store = LedgerStore(session)
        item_ids = [i.id for t in found for i in t.items]
        rows_by_item = {i: store.item_trail(i) for i in item_ids}
        described = describe(session, [r for rs in rows_by_item.values() for r in rs])
        by_index = {e.index: e for e in described}
        return CaseView(
            urn=urn,
            opened_at=own.created_at if own else None,
            transfers=describe_many(session, found, actor),
            trails={i: [by_index[n] for n, _ in rs] for i, rs in rows_by_item.items()},
            next=next_cursor(found, more, lambda t: (t.created_at, t.id)),
        )


def _mine(actor: Actor) -> ColumnElement[bool]:
    """Transfers the actor sent, or received once sent (a draft is its sender's alone)."""
    received = select(TransferRecipient.transfer_id).where(
        TransferRecipient.user_id == actor.user_id
    )
    return or_(
        Transfer.sender_id == actor.user_id,
        and_(Transfer.id.in_(received), Transfer.state != TransferState.DRAFT.value),
    )
