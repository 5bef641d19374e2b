"""People administration over the API: list, add, disable, reset a second factor, move.

Who may act on whom is :func:`custody.domain.people.may_manage`: an organisation
admin reaches everyone of their organisation, a unit admin the officers,
prosecutors and paralegals of their own unit. Anyone out of reach answers 404,
exactly as someone who does not exist (no oracle for other units or
organisations), and that refusal is a security event. Every change is a
security event; disabling and second-factor resets change who can reach case
material, so they are ledger entries too (pseudonymous ids only).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import select
from sqlalchemy.orm import Session

from custody.domain.people import (
    Member,
    Role,
    check_may_add,
    check_unit_membership,
    may_manage,
    may_see,
)
from custody.errors import Conflict, Forbidden, InvalidInput, NotFound
from custody.ledger.events import EntryType
from custody.protocol.people import PeoplePage, PersonAddedOut, PersonOut, ResetOut
from custody.services import activation, second_factor, tokens
from custody.services.accounts import add_user, find_unit
from custody.services.context import Actor, ServiceContext
from custody.services.delivery import check_reason
from custody.services.ledger import record
from custody.services.paging import Window, newest_first, next_cursor
from custody.services.security_events import record_alone, record_event
from custody.store.db import lookup
from custody.store.models import Unit, User, UserKey


def _member(user: User) -> Member:
    return Member(user.org_id, user.unit_id, user.role)


def _admin(session: Session, actor: Actor) -> User:
    """The acting admin as they are now (a unit admin moved elsewhere reaches elsewhere)."""
    return session.get_one(User, actor.user_id)


def _view(session: Session, user: User) -> PersonOut:
    return _views(session, [user])[0]


def _in_reach(session: Session, actor: Actor, ref: str) -> User:
    """The person ``ref`` (an id or an e-mail address) if the actor may manage them."""
    admin = _admin(session, actor)
    key = ref.strip().lower()
    person = session.scalar(select(User).where((User.id == key) | (User.email == key)))
    if person is None or not may_see(_member(admin), _member(person)):
        raise NotFound(
            f"no person {ref} in your reach",
            hint="see whom you manage with `custody people list`",
        )
    if person.id == admin.id:
        raise InvalidInput("you cannot do this to your own account", hint="ask another admin")
    if not may_manage(_member(admin), _member(person)):
        raise Forbidden(
            "a unit admin manages only the officers, prosecutors and paralegals of their unit "
            f"(this person's role: {person.role})",
            hint="ask your organisation admin",
        )
    return person


def _changed(
    ctx: ServiceContext, session: Session, type_: str, actor: Actor, person: User, detail: str
) -> None:
    """A change to a person: the admin's security event, naming the person by address."""
    record_event(ctx, session, type_, actor, email=person.email, detail=detail)


@contextmanager
def _refusals_recorded(ctx: ServiceContext, actor: Actor, action: str) -> Iterator[None]:
    """Record a refused people change as a security event (beside the rollback)."""
    try:
        yield
    except (Forbidden, NotFound, Conflict, InvalidInput) as exc:
        record_alone(
            ctx,
            "people:refused",
            actor,
            detail=f"{action}: {exc.code}: {exc.message}",
        )
        raise


def list_people(
    ctx: ServiceContext,
    actor: Actor,
    window: Window | None = None,
    *,
    role: Role | None = None,
    unit: str | None = None,
    search: str | None = None,
) -> PeoplePage:
    """Everyone the admin sees (their organisation, or, for a unit admin, their unit), newest
    first, a page at a time; optionally only one role or one unit (a name or an id), or only
    those whose e-mail address contains ``search`` (any case)."""
    window = window or Window()
    with ctx.unit_of_work() as session:
        admin = _admin(session, actor)
        query = select(User).where(User.org_id == admin.org_id)
        if admin.role != Role.ADMIN:
            if admin.unit_id is None:
                return PeoplePage(people=[], next=None)
            query = query.where(User.unit_id == admin.unit_id)
        if role is not None:
            query = query.where(User.role == role.value)
        if unit is not None:
            query = query.where(User.unit_id == find_unit(session, admin.org_id, unit).id)
        if search and search.strip():
            # Addresses are stored lower-case; LIKE's wildcards in the text are taken literally.
            query = query.where(User.email.contains(search.strip().lower(), autoescape=True))
        rows, more = newest_first(session, query, User.created_at, User.id, window)
        users = [row[0] for row in rows if may_see(_member(admin), _member(row[0]))]
        after = next_cursor([row[0] for row in rows], more, lambda u: (u.created_at, u.id))
        return PeoplePage(people=_views(session, users), next=after)


def person(ctx: ServiceContext, actor: Actor, ref: str) -> tuple[PersonOut, bool]:
    """One person the admin sees (by id or e-mail address), and whether the admin may act on
    them (never themselves; a unit admin only the content roles of their unit). Anyone out of
    sight answers 404, as someone who does not exist."""
    with ctx.unit_of_work() as session:
        admin = _admin(session, actor)
        key = ref.strip().lower()
        found = session.scalar(select(User).where((User.id == key) | (User.email == key)))
        if found is None or not may_see(_member(admin), _member(found)):
            raise NotFound(f"no person {ref} in your reach", hint="check the link")
        manageable = found.id != admin.id and may_manage(_member(admin), _member(found))
        return _view(session, found), manageable


def _views(session: Session, users: list[User]) -> list[PersonOut]:
    """Several people in four queries, however many there are."""
    ids = [u.id for u in users]
    unit_ids = {u.unit_id for u in users if u.unit_id}
    names = lookup(session, Unit.id, Unit.name, unit_ids)
    enrolled = second_factor.enrolled_among(session, ids)
    keyed = set(
        session.scalars(
            select(UserKey.user_id).where(UserKey.user_id.in_(ids), UserKey.retired_at.is_(None))
        )
    )
    return [
        PersonOut.of(
            u,
            unit=names.get(u.unit_id) if u.unit_id else None,
            enrolled=u.id in enrolled,
            keys=u.id in keyed,
        )
        for u in users
    ]


def add_person(
    ctx: ServiceContext, actor: Actor, email: str, role: Role, unit: str | None
) -> PersonAddedOut:
    """A new person, who activates their account with a one-time code e-mailed to them (they
    choose their password, then enrol a second factor). The admin never holds a credential.

    A unit admin adds officers, prosecutors and paralegals to their own unit (the
    default); an organisation admin adds anyone to any unit of their organisation.
    """
    with _refusals_recorded(ctx, actor, f"add {email}"), ctx.unit_of_work() as session:
        activation.require_mail(ctx)
        admin = _admin(session, actor)
        unit_id = _unit_for_new_person(session, admin, unit)
        check_may_add(_member(admin), role, unit_id)
        user = add_user(ctx, session, email, admin.org_id, role, None, unit_id, by=actor)
        code = activation.issue(ctx, session, user, activation.ACTIVATE, by=actor.user_id)
        detail = f"added {user.id} as {role.value}" + (f" in unit {unit_id}" if unit_id else "")
        _changed(ctx, session, "people:added", actor, user, detail)
        # Last: once it is sent, only a failed commit could strand it (the code then fails).
        activation.mail(ctx, user, activation.ACTIVATE, code, actor.email)
        # The activation code went to the person's own address: the admin never sees it, so
        # cannot sign in as them (security review, finding 5).
        return PersonAddedOut(person=_view(session, user), activation_sent_to=user.email)


def _unit_for_new_person(session: Session, admin: User, unit: str | None) -> str | None:
    if admin.role == Role.ADMIN:
        return find_unit(session, admin.org_id, unit).id if unit else None
    own = session.get(Unit, admin.unit_id) if admin.unit_id else None
    if unit is None or (own is not None and unit.strip() in (own.id, own.name)):
        return admin.unit_id
    # The same answer whether or not that unit exists: no oracle for other units.
    raise Forbidden("a unit admin adds people to their own unit only", hint="leave out --unit")


def disable(ctx: ServiceContext, actor: Actor, ref: str, reason: str) -> PersonOut:
    """Disable a person and revoke all their tokens: they can no longer sign in or be sent to.

    The ledger records who and by whom (ids only); the reason, free text that may
    name people, stays in the security event, which can be erased.
    """
    reason = check_reason(reason)
    with _refusals_recorded(ctx, actor, f"disable {ref}"), ctx.unit_of_work() as session:
        person = _in_reach(session, actor, ref)
        if person.disabled:
            raise Conflict(f"{person.email} is disabled already")
        person.disabled = True
        revoked = tokens.revoke_all(session, person.id, ctx.clock.now())
        appended = record(ctx, session, EntryType.ACCOUNT_DISABLED, actor, data={"user": person.id})
        detail = (
            f"disabled {person.id}; {revoked} token(s) revoked; ledger #{appended.index}; "
            f"reason: {reason}"
        )
        _changed(ctx, session, "people:disabled", actor, person, detail)
        return _view(session, person)


def reset_second_factor(ctx: ServiceContext, actor: Actor, ref: str, reason: str) -> ResetOut:
    """Clear a person's second factor and tokens, in one transaction; they enrol again with a
    one-time code e-mailed to them (never to the admin)."""
    reason = check_reason(reason)
    with _refusals_recorded(ctx, actor, f"reset-2fa {ref}"), ctx.unit_of_work() as session:
        person = _in_reach(session, actor, ref)
        done = second_factor.clear(ctx, session, person, reason, actor)
        detail = f"reset {person.id}; ledger #{done.ledger_index}; reason: {reason}"
        _changed(ctx, session, "people:second_factor_reset", actor, person, detail)
        return ResetOut(ledger_index=done.ledger_index, enrolment_code_sent_to=person.email)


def move(ctx: ServiceContext, actor: Actor, ref: str, unit: str | None) -> PersonOut:
    """Move a person to another unit of the organisation (None: to no unit). Org admins only."""
    with _refusals_recorded(ctx, actor, f"move {ref}"), ctx.unit_of_work() as session:
        if actor.role != Role.ADMIN:
            raise Forbidden(
                "only an organisation admin moves people between units",
                hint="ask your organisation admin",
            )
        person = _in_reach(session, actor, ref)
        target = find_unit(session, person.org_id, unit).id if unit else None
        check_unit_membership(person.role, target)
        before, person.unit_id = person.unit_id, target
        detail = f"moved {person.id} from unit {before or '-'} to {target or '-'}"
        _changed(ctx, session, "people:moved", actor, person, detail)
        return _view(session, person)
