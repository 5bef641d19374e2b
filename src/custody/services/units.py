"""Units: the teams inside an organisation (a CID unit, a RASSO unit).

A person belongs to at most one unit. Units scope two things: what a unit admin
may manage and read (their own unit's people and transfers), and who receives a
transfer addressed to ``"ORG/UNIT"`` (the unit's content-role members with keys).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from custody.domain.people import Role, check_unit_name
from custody.errors import Conflict, Forbidden
from custody.ledger.events import EntryType
from custody.protocol.people import UnitOut
from custody.services.accounts import find_org
from custody.services.context import Actor, ServiceContext
from custody.services.ledger import SYSTEM, record
from custody.services.security_events import record_event
from custody.store.models import Organisation, Unit, User


def create_unit(ctx: ServiceContext, org: str, name: str, by: Actor | None = None) -> UnitOut:
    """A new unit of ``org`` (name or id); ``by`` is an organisation admin, or None for the
    operator. The ledger records it (ids only); an admin's is a security event too."""
    name = check_unit_name(name)
    with ctx.unit_of_work() as session:
        organisation = find_org(session, org)
        if by is not None and (by.role != Role.ADMIN or by.org_id != organisation.id):
            raise Forbidden("only an organisation admin creates units, in their organisation")
        if session.scalar(select(Unit).where(Unit.org_id == organisation.id, Unit.name == name)):
            raise Conflict(f"{organisation.name} has a unit named {name!r} already")
        unit = Unit(org_id=organisation.id, name=name, created_at=ctx.clock.now())
        session.add(unit)
        session.flush()
        record(
            ctx,
            session,
            EntryType.UNIT_CREATED,
            by or SYSTEM,
            data={"unit": unit.id, "org": unit.org_id},
        )
        if by is not None:
            record_event(
                ctx,
                session,
                "unit:created",
                by,
                detail=f"unit {unit.id} {name!r}",
            )
        return _view(session, unit, organisation)


def list_units(ctx: ServiceContext, org: str) -> list[UnitOut]:
    """Every unit of ``org`` (name or id), for the operator."""
    with ctx.unit_of_work() as session:
        organisation = find_org(session, org)
        rows = session.scalars(
            select(Unit).where(Unit.org_id == organisation.id).order_by(Unit.name)
        )
        return [_view(session, u, organisation) for u in rows]


def units_for(ctx: ServiceContext, actor: Actor) -> list[UnitOut]:
    """The units a people admin administers: all of their organisation's, or their own."""
    with ctx.unit_of_work() as session:
        me = session.get_one(User, actor.user_id)
        query = select(Unit).where(Unit.org_id == me.org_id).order_by(Unit.name)
        if me.role != Role.ADMIN:
            query = query.where(Unit.id == me.unit_id)
        organisation = session.get_one(Organisation, me.org_id)
        return [_view(session, u, organisation) for u in session.scalars(query)]


def _view(session: Session, unit: Unit, org: Organisation) -> UnitOut:
    members = session.scalar(select(func.count()).select_from(User).where(User.unit_id == unit.id))
    return UnitOut.of(unit, org=org.name, members=int(members or 0))
