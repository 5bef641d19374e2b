"""People administration: units, and the people in them.

Creating a unit is ``admin`` (organisation admins); everything else is ``people:admin``
(organisation or unit admins). Who may act on whom is decided in
``custody.services.people``: anyone out of the admin's reach answers 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from custody.domain.people import Role, parse_role
from custody.http.deps import ContextDep, PageDep
from custody.http.openapi import fails
from custody.http.policy import OrgAdmin, PeopleAdmin
from custody.protocol.codes import ErrorCode
from custody.protocol.people import (
    MoveIn,
    PeoplePage,
    PersonAddedOut,
    PersonIn,
    PersonOut,
    ReasonIn,
    ResetOut,
    UnitIn,
    UnitOut,
)
from custody.services import people, units

router = APIRouter(prefix="/api/v1", tags=["people"])
_REACH = fails(ErrorCode.NOT_FOUND, ErrorCode.FORBIDDEN, ErrorCode.CONFLICT)


@router.get("/units", response_model=list[UnitOut])
def list_units(ctx: ContextDep, actor: PeopleAdmin) -> list[UnitOut]:
    """Units you administer: all of your organisation's, or (unit admin) your own."""
    return units.units_for(ctx, actor)


@router.post("/units", response_model=UnitOut, status_code=201, responses=fails(ErrorCode.CONFLICT))
def create_unit(body: UnitIn, ctx: ContextDep, actor: OrgAdmin) -> UnitOut:
    """A new unit of your organisation."""
    return units.create_unit(ctx, actor.org_id, body.name, by=actor)


@router.get("/people", response_model=PeoplePage, responses=fails(ErrorCode.NOT_FOUND))
def list_people(
    ctx: ContextDep,
    actor: PeopleAdmin,
    window: PageDep,
    role: Annotated[Role | None, Query(description="only people of this role")] = None,
    unit: Annotated[str | None, Query(max_length=80, description="a unit's name or id")] = None,
) -> PeoplePage:
    """People you administer (your organisation, or, unit admin, your unit), newest first."""
    return people.list_people(ctx, actor, window, role=role, unit=unit)


@router.post(
    "/people",
    response_model=PersonAddedOut,
    status_code=201,
    responses=fails(
        ErrorCode.NOT_FOUND, ErrorCode.FORBIDDEN, ErrorCode.CONFLICT, ErrorCode.SERVER_UNAVAILABLE
    ),
)
def add_person(body: PersonIn, ctx: ContextDep, actor: PeopleAdmin) -> PersonAddedOut:
    """A new person; a one-time activation code goes to their address (never to the admin)."""
    return people.add_person(ctx, actor, body.email, parse_role(body.role), body.unit)


@router.post("/people/{user_id}/disable", response_model=PersonOut, responses=_REACH)
def disable(user_id: str, body: ReasonIn, ctx: ContextDep, actor: PeopleAdmin) -> PersonOut:
    """Disable a person (by id or e-mail address) and revoke all their tokens."""
    return people.disable(ctx, actor, user_id, body.reason)


@router.post(
    "/people/{user_id}/reset-second-factor",
    response_model=ResetOut,
    responses=fails(
        ErrorCode.NOT_FOUND, ErrorCode.FORBIDDEN, ErrorCode.CONFLICT, ErrorCode.SERVER_UNAVAILABLE
    ),
)
def reset_second_factor(
    user_id: str, body: ReasonIn, ctx: ContextDep, actor: PeopleAdmin
) -> ResetOut:
    """Clear a person's second factor and tokens; they enrol again with a one-time code
    e-mailed to them (never to the admin)."""
    return people.reset_second_factor(ctx, actor, user_id, body.reason)


@router.post("/people/{user_id}/unit", response_model=PersonOut, responses=_REACH)
def move(user_id: str, body: MoveIn, ctx: ContextDep, actor: PeopleAdmin) -> PersonOut:
    """Move a person to another unit of your organisation (organisation admins only)."""
    return people.move(ctx, actor, user_id, body.unit)
