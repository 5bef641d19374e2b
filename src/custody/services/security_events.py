"""The security events table: every sign-in attempt and every refused access (CJIS 5.4.1.1).

Tags are shaped like ``"login:failed"``. Events that touch case material (a
refused download, a second-factor reset) are also ledger entries; these rows
hold what the ledger must not: addresses and e-mail addresses as typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from custody.services.context import Actor, ServiceContext
from custody.store.models_security import SecurityEvent


@dataclass(frozen=True)
class Origin:
    """Where a request came from, as far as the server can tell."""

    address: str | None = None
    user_agent: str | None = None

    @classmethod
    def of(cls, actor: Actor) -> Origin:
        """Where an authenticated request came from (the API layer fills these in)."""
        return cls(actor.address, actor.user_agent)


def record_event(
    ctx: ServiceContext,
    session: Session,
    type_: str,
    origin: Origin,
    *,
    user_id: str | None = None,
    org_id: str | None = None,
    email: str | None = None,
    detail: str | None = None,
) -> None:
    """Add one event to the caller's transaction."""
    session.add(
        SecurityEvent(
            at=ctx.clock.now(),
            type=type_,
            user_id=user_id,
            org_id=org_id,
            email=(email or "")[:254] or None,
            address=(origin.address or "")[:64] or None,
            user_agent=(origin.user_agent or "")[:200] or None,
            detail=(detail or "")[:300] or None,
        )
    )


def record_alone(ctx: ServiceContext, type_: str, origin: Origin, **fields: str | None) -> None:
    """Record an event in a transaction of its own (e.g. beside a refusal that rolls back)."""
    with ctx.unit_of_work() as session:
        record_event(ctx, session, type_, origin, **fields)


@dataclass(frozen=True)
class EventView:
    at: datetime
    type: str
    user_id: str | None
    email: str | None
    address: str | None
    detail: str | None


def org_events(ctx: ServiceContext, actor: Actor, limit: int = 200) -> list[EventView]:
    """The newest events of the admin's own organisation."""
    with ctx.unit_of_work() as session:
        rows = session.scalars(
            select(SecurityEvent)
            .where(SecurityEvent.org_id == actor.org_id)
            .order_by(SecurityEvent.at.desc())
            .limit(limit)
        )
        return [EventView(e.at, e.type, e.user_id, e.email, e.address, e.detail) for e in rows]
