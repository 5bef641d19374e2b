"""Scheduled background jobs, run once across every node: a due time and a lease per job.

Each node's check is one conditional UPDATE: it takes the job's lease only if the job is due
and nobody holds an unexpired lease, so two nodes checking at the same moment cannot both
run it, on PostgreSQL or SQLite. The holder renews the lease while it works and, when done,
sets the next due time and lets go. A node that dies holding the lease stops renewing it;
once it has run out, the next node to check runs the job again from the start.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import CursorResult, or_, update
from sqlalchemy.exc import IntegrityError

from custody.services.context import ServiceContext
from custody.store.models_delivery import ScheduledRun


def claim(
    ctx: ServiceContext, name: str, worker: str, *, first_due: datetime, lease: timedelta
) -> bool:
    """Take job ``name``'s lease for ``lease`` if it is due; True if this worker now holds it.
    A job seen for the first time is scheduled for ``first_due``, not run at once."""
    now = ctx.clock.now()
    _schedule_once(ctx, name, first_due)
    with ctx.unit_of_work() as session:
        taken: CursorResult[tuple[()]] = session.execute(  # type: ignore[assignment]
            update(ScheduledRun)
            .where(ScheduledRun.name == name, ScheduledRun.due_at <= now,
                   or_(ScheduledRun.lease_until.is_(None), ScheduledRun.lease_until < now))
            .values(lease_owner=worker, lease_until=now + lease)
        )
        return taken.rowcount == 1


def renew(ctx: ServiceContext, name: str, worker: str, lease: timedelta) -> bool:
    """Extend this worker's lease; False if it no longer holds it (it ran out, another took
    it)."""
    with ctx.unit_of_work() as session:
        kept: CursorResult[tuple[()]] = session.execute(  # type: ignore[assignment]
            update(ScheduledRun)
            .where(ScheduledRun.name == name, ScheduledRun.lease_owner == worker)
            .values(lease_until=ctx.clock.now() + lease)
        )
        return kept.rowcount == 1


def release(ctx: ServiceContext, name: str, worker: str, *, next_due: datetime) -> None:
    """Let go of the lease this worker holds, with the job next due at ``next_due``."""
    with ctx.unit_of_work() as session:
        session.execute(
            update(ScheduledRun)
            .where(ScheduledRun.name == name, ScheduledRun.lease_owner == worker)
            .values(due_at=next_due, lease_owner=None, lease_until=None)
        )


def _schedule_once(ctx: ServiceContext, name: str, first_due: datetime) -> None:
    with ctx.unit_of_work() as session:
        if session.get(ScheduledRun, name) is not None:
            return
        try:
            with session.begin_nested():  # another node may insert it at the same moment
                session.add(ScheduledRun(name=name, due_at=first_due))
        except IntegrityError:
            pass
