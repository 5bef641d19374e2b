"""Cases, by their URN: opened by the organisation that gathers the material."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from custody.domain.cases import parse_urn
from custody.domain.people import require_content_role
from custody.errors import Conflict, NotFound
from custody.services.context import Actor, ServiceContext
from custody.services.ledger import record
from custody.store.models import (
    Case,
)

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def create_case(ctx: ServiceContext, actor: Actor, urn: str) -> Case:
    urn = parse_urn(urn)
    require_content_role(actor.role)
    with ctx.unit_of_work() as session:
        if session.scalar(select(Case).where(Case.urn == urn)):
            raise Conflict(f"case {urn} exists already")
        case = Case(
            urn=urn, owner_org_id=actor.org_id, created_by=actor.user_id, created_at=ctx.clock.now()
        )
        session.add(case)
        session.flush()
        record(ctx, session, "case:created", actor, case=case.id)
        return case


def find_case(session: Session, urn: str) -> Case:
    case = session.scalar(select(Case).where(Case.urn == parse_urn(urn)))
    if case is None:
        raise NotFound(f"no case {urn}", hint=f"create it first: custody case create {urn}")
    return case
