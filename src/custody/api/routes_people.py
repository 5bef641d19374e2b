"""JSON API of people administration: units, and the people in them.

Policies: creating a unit is ``admin`` (organisation admins); everything else is
``people:admin`` (organisation or unit admins). Who may act on whom is decided in
``custody.services.people``: anyone out of the admin's reach answers 404.
"""

from __future__ import annotations

from fastapi import APIRouter

from custody.api.schemas import (
    MoveIn,
    PersonAddedOut,
    PersonIn,
    PersonOut,
    ReasonIn,
    ResetOut,
    UnitIn,
    UnitOut,
)
from custody.domain.people import parse_role
from custody.http.deps import ContextDep
from custody.http.policy import OrgAdmin, PeopleAdmin
from custody.services import people, units

router = APIRouter(prefix="/api/v1", tags=["people"])


@router.get("/units", response_model=list[UnitOut])
def list_units(ctx: ContextDep, actor: PeopleAdmin) -> list[units.UnitView]:
    """Units you administer: all of your organisation's, or (unit admin) your own."""
    return units.units_for(ctx, actor)


@router.post("/units", response_model=UnitOut, status_code=201)
def create_unit(body: UnitIn, ctx: ContextDep, actor: OrgAdmin) -> units.UnitView:
    """A new unit of your organisation."""
    return units.create_unit(ctx, actor.org_id, body.name, by=actor)


@router.get("/people", response_model=list[PersonOut])
def list_people(ctx: ContextDep, actor: PeopleAdmin) -> list[people.PersonView]:
    """People you administer: your organisation, or (unit admin) your unit."""
    return people.list_people(ctx, actor)


@router.post("/people", response_model=PersonAddedOut, status_code=201)
def add_person(body: PersonIn, ctx: ContextDep, actor: PeopleAdmin) -> people.Added:
    """A new person; a one-time activation code goes to their address (never to the admin)."""
    return people.add_person(ctx, actor, body.email, parse_role(body.role), body.unit)


@router.post("/people/{user_id}/disable", response_model=PersonOut)
def disable(user_id: str, body: ReasonIn, ctx: ContextDep, actor: PeopleAdmin) -> people.PersonView:
    """Disable a person (by id or e-mail address) and revoke all their tokens."""
    return people.disable(ctx, actor, user_id, body.reason)


@router.post("/people/{user_id}/reset-second-factor", response_model=ResetOut)
def reset_second_factor(
    user_id: str, body: ReasonIn, ctx: ContextDep, actor: PeopleAdmin
) -> people.ResetDone:
    """Clear a person's second factor and tokens; they enrol again with a one-time code
    e-mailed to them (never to the admin)."""
    return people.reset_second_factor(ctx, actor, user_id, body.reason)


@router.post("/people/{user_id}/unit", response_model=PersonOut)
def move(user_id: str, body: MoveIn, ctx: ContextDep, actor: PeopleAdmin) -> people.PersonView:
    """Move a person to another unit of your organisation (organisation admins only)."""
    return people.move(ctx, actor, user_id, body.unit)
