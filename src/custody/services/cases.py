"""Cases, by their URN: each organisation opens its own.

A URN is the police's reference, and the prosecution, the court and the defence
all use it; so a case belongs to an organisation, and two organisations may each
hold URN 47XX1234567 as their own case, with their own material, retention and
holds. Opening a case says nothing about whether another organisation has one.
"""

from __future__ import annotations

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from custody.domain.cases import parse_urn
from custody.domain.people import require_content_role
from custody.domain.transfers import TransferState
from custody.errors import Conflict, NotFound
from custody.ledger.events import EntryType
from custody.protocol.transfers import CaseOut, CasePage, CaseSummaryOut
from custody.services.context import Actor, ServiceContext
from custody.services.ledger import record
from custody.services.paging import Window, newest_first, next_cursor
from custody.store.db import lookup
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
    received = select(TransferRecipient.transfer_id).where(
        TransferRecipient.user_id == actor.user_id
    )
    mine = or_(
        Transfer.sender_id == actor.user_id,
        and_(Transfer.id.in_(received), Transfer.state != TransferState.DRAFT.value),
    )
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
