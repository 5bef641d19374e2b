"""Deadlines as pure functions of a moment: overdue alerts, escalation, the regulator's 72 hours.

Nothing here reads a clock: callers pass ``now`` (from the injected ``Clock``),
so every deadline is tested by moving time, never by sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from custody.domain.transfers import AWAITING_ACK, TransferState, parse_duration
from custody.errors import InvalidInput

REGULATOR_DEADLINE = timedelta(hours=72)  # UK GDPR Art. 33(1): "not later than 72 hours"
# Reminders before the regulator deadline, as time elapsed since the incident opened.
REGULATOR_REMINDERS = (timedelta(hours=24), timedelta(hours=48), timedelta(hours=66))


class AlertKind(StrEnum):
    OVERDUE = "overdue"  # the deadline passed: sender, recipients, receiving unit's admins
    ESCALATED = "escalated"  # still unacknowledged after the escalation period: both units' admins


@dataclass(frozen=True)
class Pending:
    """What the deadline rules need to know about one transfer."""

    state: TransferState
    ack_deadline: datetime | None
    delivered_at: datetime | None


def alerts_due(transfer: Pending, now: datetime, escalation: timedelta) -> list[AlertKind]:
    """The alerts a transfer has earned by ``now`` (the caller skips those already raised)."""
    if transfer.state not in AWAITING_ACK or transfer.ack_deadline is None:
        return []
    due = []
    if now >= transfer.ack_deadline:
        due.append(AlertKind.OVERDUE)
    if now >= transfer.ack_deadline + escalation:
        due.append(AlertKind.ESCALATED)
    return due


def overdue_reason(transfer: Pending) -> str:
    """Says which of the two very different situations this is."""
    if transfer.delivered_at is None:
        return "never downloaded: nobody in the receiving unit has fetched it"
    return "delivered but not acknowledged: it was downloaded, nobody has taken responsibility"


def reminders_due(opened_at: datetime, now: datetime, reported: bool) -> list[str]:
    """Regulator reminders earned by ``now``: ``24h``, ``48h``, ``66h``, then ``due``."""
    if reported:
        return []
    marks = [
        f"{int(m.total_seconds() // 3600)}h" for m in REGULATOR_REMINDERS if now >= opened_at + m
    ]
    if now >= opened_at + REGULATOR_DEADLINE:
        marks.append("due")
    return marks


def parse_when(text: str, now: datetime) -> datetime:
    """``--expires``: a duration from now (``14d``) or a UTC date (``2027-01-31[T12:00]``).

    A past moment is a mistake, never "expire at once".
    """
    try:
        return now + parse_duration(text)
    except InvalidInput as exc:
        if "not a duration" not in exc.message:
            raise
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            f"{text!r} is neither a duration nor a date",
            hint="write e.g. 14d, or a date such as 2027-01-31",
        ) from None
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    if when <= now:
        raise InvalidInput(
            f"{when:%Y-%m-%d %H:%M} UTC is in the past", hint="give a future date or a duration"
        )
    return when
