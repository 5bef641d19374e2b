"""Cases, by their URN: each organisation opens its own.

A URN is the police's reference, and the prosecution, the court and the defence
all use it; so a case belongs to an organisation, and two organisations may each
hold URN 47XX1234567 as their own case, with their own material, retention and
holds. Opening a case says nothing about whether another organisation has one.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from custody.domain.cases import parse_urn
from custody.domain.people import require_content_role
from custody.errors import Conflict, NotFound
from custody.ledger.events import EntryType
from custody.protocol.transfers import CaseOut
from custody.services.context import Actor, ServiceContext
from custody.services.ledger import record
from custody.store.models import (
    Case,
)


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
