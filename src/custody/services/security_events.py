"""The security events table: every sign-in attempt and every refused access (CJIS 5.4.1.1).

Tags are shaped like ``"login:failed"``. Events that touch case material (a
refused download, a second-factor reset) are also ledger entries; these rows
hold what the ledger must not: addresses and e-mail addresses as typed.

Refusals (:data:`FOLDED`) are folded: the same one repeated within a minute is
counted, not written again, and one summary row carries the count
(``occurrences``; services/refusal_records.py). So a flood of refused requests
costs a bounded number of rows, and ``sum(occurrences)`` is still every attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from custody.domain.people import Member, Role, may_see
from custody.protocol.accounts import SecurityEventOut, SecurityEventPage
from custody.services import refusal_records
from custody.services.context import Actor, Origin, ServiceContext
from custody.services.paging import Window, newest_first, next_cursor
from custody.store.db import new_id
from custody.store.models import User
from custody.store.models_security import SecurityEvent

# Refusals anyone can repeat at will; each identical one within a minute is only counted.
FOLDED = frozenset(
    {"access:denied", "access:refused", "csrf:refused", "people:refused", "login:failed"}
)


def record_event(
    ctx: ServiceContext, session: Session, type_: str, by: Origin | Actor, *,
    user_id: str | None = None, org_id: str | None = None, email: str | None = None,
    detail: str | None = None,
) -> None:
    """Add one event to the caller's transaction (a repeated refusal only adds to a count).

    ``by`` is where the request came from or, for an authenticated one, its actor: the
    event is then theirs (their id and organisation, where their request came from).
    """
    if isinstance(by, Actor):
        origin, user_id, org_id = by.origin, by.user_id, by.org_id
    else:
        origin = by
    event = SecurityEvent(
        id=new_id(),
        at=ctx.clock.now(),
        type=type_,
        user_id=user_id,
        org_id=org_id,
        email=(email or "")[:254] or None,
        address=origin.address,
        user_agent=origin.user_agent,
        detail=(detail or "")[:300] or None,
        occurrences=1,
    )
    if type_ not in FOLDED:
        session.add(event)
        return

    def write() -> str:
        session.add(event)
        return event.id

    # Not the user agent: it is the sender's to vary, and would defeat the folding.
    same = (type_, event.user_id, event.org_id, event.email, event.address, event.detail)
    refusal_records.record_once(session, ctx, refusal_records.EVENT, same, write)


def record_alone(ctx: ServiceContext, type_: str, by: Origin | Actor, **fields: str | None) -> None:
    """Record an event in a transaction of its own (e.g. beside a refusal that rolls back)."""
    with ctx.unit_of_work() as session:
        record_event(ctx, session, type_, by, **fields)


def org_events(
    ctx: ServiceContext, actor: Actor, window: Window | None = None, *, type_: str | None = None
) -> SecurityEventPage:
    """The events of the admin's own organisation, newest first, a page at a time;
    optionally of one type only (e.g. ``login:failed``)."""
    with ctx.unit_of_work() as session:
        query = select(SecurityEvent).where(SecurityEvent.org_id == actor.org_id)
        if type_ is not None:
            query = query.where(SecurityEvent.type == type_)
        return _page(session, query, window)


@dataclass(frozen=True)
class EventFilter:
    """What a people admin narrows their security events to (each part optional).

    ``kind``: a tag (``login:failed``) or its family (``login``); ``person``: an id or an
    e-mail address, the events by or about them; ``since``/``until``: the time range.
    """

    kind: str | None = None
    person: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def events_in_reach(
    ctx: ServiceContext, actor: Actor, window: Window | None = None, f: EventFilter | None = None
) -> SecurityEventPage:
    """The security events a people admin may read, newest first, a page at a time.

    An organisation admin: their organisation's (as ``GET /api/v1/admin/security-events``).
    A unit admin: only those by or about the people of their unit (an event names a person
    by id if it was theirs, by address if it was about them), never the rest of the
    organisation's.
    """
    f = f or EventFilter()
    with ctx.unit_of_work() as session:
        admin = session.get_one(User, actor.user_id)
        query = select(SecurityEvent)
        if admin.role == Role.ADMIN:
            query = query.where(SecurityEvent.org_id == admin.org_id)
        else:
            me = Member(admin.org_id, admin.unit_id, admin.role)
            mates = [
                u
                for u in session.scalars(
                    select(User).where(User.org_id == admin.org_id, User.unit_id == admin.unit_id)
                )
                if admin.unit_id is not None and may_see(me, Member(u.org_id, u.unit_id, u.role))
            ]
            ids, emails = [u.id for u in mates], [u.email for u in mates]
            query = query.where(
                or_(SecurityEvent.org_id == admin.org_id, SecurityEvent.org_id.is_(None)),
                or_(SecurityEvent.user_id.in_(ids), SecurityEvent.email.in_(emails)),
            )
        if f.kind:
            kind = f.kind.strip()
            query = query.where(
                or_(
                    SecurityEvent.type == kind,
                    SecurityEvent.type.startswith(f"{kind}:", autoescape=True),
                )
            )
        if f.person:
            # By id or address, the events by them (their id) and about them (their address).
            # Whoever the text names, the reach above still bounds what is shown.
            key = f.person.strip().lower()
            named = session.scalar(select(User).where((User.id == key) | (User.email == key)))
            whose = {key} | ({named.id, named.email} if named is not None else set())
            query = query.where(
                or_(SecurityEvent.user_id.in_(whose), SecurityEvent.email.in_(whose))
            )
        if f.since is not None:
            query = query.where(SecurityEvent.at >= f.since)
        if f.until is not None:
            query = query.where(SecurityEvent.at < f.until)
        return _page(session, query, window)


def _page(session: Session, query: Select[SecurityEvent],
          window: Window | None) -> SecurityEventPage:
    """A page of ``query``'s events, newest first, and the cursor to the next."""
    rows, more = newest_first(session, query, SecurityEvent.at, SecurityEvent.id,
                              window or Window())
    events = [row[0] for row in rows]
    return SecurityEventPage(
        events=[SecurityEventOut.of(e) for e in events],
        next=next_cursor(events, more, lambda e: (e.at, e.id)),
    )
