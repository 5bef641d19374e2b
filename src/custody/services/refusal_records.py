"""Identical refusals folded into one record and an exact count, so a flood costs O(1) rows.

Every refused access is still recorded (CJIS 5.4.1.1), but a refusal repeated
within :data:`WINDOW` — same kind, same actor or address, same item or route,
same action and reason — does not write a new ledger entry or security event:
the first is written in full and the repeats only add to a counter in
``refusal_tallies``. Once the window has closed one summary carries the count:
a ledger entry like the first with ``{"repeats": N, "first": index, "last": time}``,
or a security event like the first with ``occurrences = N``. A flood anyone can
cause therefore costs at most two rows per window per (actor, target), and the
count is exact: first + summaries = every attempt.

The summary is written by whichever comes first after the window closes: the
next identical refusal, the next differing refusal of the same kind (each one
recorded in full sweeps a few closed windows), or :func:`flush_closed` (the
watcher's periodic job, or an operator). The state is a row updated in the
refusing transaction, so several server processes sharing the database count
together: on PostgreSQL the row is claimed with ``INSERT ... ON CONFLICT DO
NOTHING`` and locked ``FOR UPDATE``; on SQLite ``BEGIN IMMEDIATE`` already makes
each transaction the only writer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from custody.ledger.entry import TIME_FORMAT, Entry
from custody.ledger.events import EntryType
from custody.services.context import ServiceContext
from custody.services.ledger import record
from custody.store.ledger_models import LedgerHead
from custody.store.ledger_store import LedgerStore
from custody.store.models_security import RefusalTally, SecurityEvent

WINDOW = timedelta(seconds=60)
LEDGER: Literal["ledger"] = "ledger"  # "access:refused" entries
EVENT: Literal["event"] = "event"  # refusals in the security events table
Kind = Literal["ledger", "event"]
# Closed windows summarised by each refusal recorded in full: bounds what one request pays.
_SWEEP = 20
_CLAIM_TRIES = 3


def record_once(
    session: Session,
    ctx: ServiceContext,
    kind: Kind,
    parts: Sequence[str | None],
    write: Callable[[], str],
) -> bool:
    """Count a refusal; ``write`` it (returning its ledger index or event id) unless an
    identical one was written within the window. True if it was written.

    ``parts`` say what makes two refusals the same: who (user id or address), what
    (item or route), the action and the reason.
    """
    now = ctx.clock.now()
    tally = _claim(session, _key(kind, parts), kind, now)
    if tally.first_ref is not None and now < tally.closes_at:
        tally.repeats += 1
        tally.last_at = max(tally.last_at, now)
        return False
    if tally.first_ref is not None:  # the window closed and nobody summarised it yet
        _summarise(session, ctx, tally)
    tally.first_ref = write()
    tally.opened_at = tally.last_at = now
    tally.closes_at = now + WINDOW
    tally.repeats = 0
    _sweep(session, ctx, kind, now, but=tally.key, limit=_SWEEP)
    return True


def flush_closed(ctx: ServiceContext) -> int:
    """Write the summary of every window that has closed; how many summaries were written."""
    with ctx.unit_of_work() as session:
        # Take the ledger's append lock before any tally, as a refusal recorded in full
        # does, so this never holds a tally that an appending transaction waits for.
        session.execute(select(LedgerHead.size).with_for_update())
        now = ctx.clock.now()
        return _sweep(session, ctx, LEDGER, now) + _sweep(session, ctx, EVENT, now)


def _key(kind: Kind, parts: Sequence[str | None]) -> str:
    return hashlib.sha256(json.dumps([kind, *parts]).encode()).hexdigest()


def _claim(session: Session, key: str, kind: Kind, now: datetime) -> RefusalTally:
    """The tally row for ``key``, locked for this transaction; made if there is none."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for _ in range(_CLAIM_TRIES):
        session.execute(
            insert(RefusalTally)
            .values(key=key, kind=kind, opened_at=now, closes_at=now, last_at=now, repeats=0)
            .on_conflict_do_nothing(index_elements=["key"])
        )
        tally = session.scalars(
            select(RefusalTally)
            .where(RefusalTally.key == key)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one_or_none()
        if tally is not None:
            return tally
        # PostgreSQL: another process summarised and deleted the row between our insert
        # and our lock; claim it again.
    raise RuntimeError(f"refusal tally {key} could not be claimed")


def _sweep(
    session: Session,
    ctx: ServiceContext,
    kind: Kind,
    now: datetime,
    *,
    but: str | None = None,
    limit: int | None = None,
) -> int:
    """Summarise and remove closed windows of ``kind`` that nobody else holds."""
    query = (
        select(RefusalTally)
        .where(RefusalTally.kind == kind, RefusalTally.closes_at <= now)
        .order_by(RefusalTally.closes_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if but is not None:
        query = query.where(RefusalTally.key != but)
    written = 0
    for tally in session.scalars(query).all():
        written += _summarise(session, ctx, tally)
        session.delete(tally)
    session.flush()
    return written


def _summarise(session: Session, ctx: ServiceContext, tally: RefusalTally) -> int:
    """The one record that carries a closed window's repeats; 1 if one was written."""
    if tally.repeats == 0 or tally.first_ref is None:
        return 0
    if tally.kind == LEDGER:
        index = int(tally.first_ref)
        first = Entry.from_bytes(LedgerStore(session).entry(index))
        record(
            ctx,
            session,
            EntryType(first.type),
            first.actor,
            case=first.case,
            transfer=first.transfer,
            item=first.item,
            data={
                **first.data,
                "repeats": tally.repeats,
                "first": index,
                "last": tally.last_at.strftime(TIME_FORMAT),
            },
        )
        return 1
    event = session.get(SecurityEvent, tally.first_ref)
    if event is None:  # only if the first row was deleted by hand: nothing to copy
        return 0
    session.add(
        SecurityEvent(
            at=tally.last_at,
            type=event.type,
            user_id=event.user_id,
            org_id=event.org_id,
            email=event.email,
            address=event.address,
            user_agent=event.user_agent,
            detail=(
                f"{tally.repeats} more like this since {event.at:%Y-%m-%d %H:%M:%S} UTC: "
                f"{event.detail or ''}"
            )[:300],
            occurrences=tally.repeats,
        )
    )
    return 1
