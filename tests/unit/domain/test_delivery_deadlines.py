"""Overdue alerts, escalation, regulator reminders and expiry dates (custody.domain.deadlines)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from custody.domain.deadlines import (
    AlertKind,
    Pending,
    alerts_due,
    overdue_reason,
    parse_when,
    reminders_due,
)
from custody.domain.transfers import TransferState
from custody.errors import InvalidInput

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
DEADLINE = T0 + timedelta(hours=24)
ESC = timedelta(hours=24)


def pending(state: TransferState, delivered: datetime | None = None) -> Pending:
    return Pending(state, DEADLINE, delivered)


@pytest.mark.parametrize(("now", "expected"), [
    (DEADLINE - timedelta(seconds=1), []),
    (DEADLINE, [AlertKind.OVERDUE]),
    (DEADLINE + ESC - timedelta(seconds=1), [AlertKind.OVERDUE]),
    (DEADLINE + ESC, [AlertKind.OVERDUE, AlertKind.ESCALATED]),
])
def test_alerts_follow_the_deadline_then_escalate(now: datetime, expected: list[AlertKind]) -> None:
    assert alerts_due(pending(TransferState.SENT), now, ESC) == expected
    assert alerts_due(pending(TransferState.DELIVERED, T0), now, ESC) == expected


@pytest.mark.parametrize("state", [
    s for s in TransferState if s not in (TransferState.SENT, TransferState.DELIVERED)])
def test_no_alert_once_acknowledged_revoked_or_closed(state: TransferState) -> None:
    assert alerts_due(pending(state), DEADLINE + 10 * ESC, ESC) == []


def test_no_deadline_no_alert() -> None:
    assert alerts_due(Pending(TransferState.SENT, None, None), DEADLINE + ESC, ESC) == []


def test_delivered_and_never_downloaded_read_differently() -> None:
    never = overdue_reason(pending(TransferState.SENT))
    delivered = overdue_reason(pending(TransferState.DELIVERED, T0))
    assert "never downloaded" in never
    assert "delivered but not acknowledged" in delivered
    assert never != delivered


@pytest.mark.parametrize(("hours", "expected"), [
    (0, []), (23, []), (24, ["24h"]), (48, ["24h", "48h"]), (66, ["24h", "48h", "66h"]),
    (72, ["24h", "48h", "66h", "due"]), (500, ["24h", "48h", "66h", "due"]),
])
def test_regulator_reminders(hours: int, expected: list[str]) -> None:
    assert reminders_due(T0, T0 + timedelta(hours=hours), reported=False) == expected
    assert reminders_due(T0, T0 + timedelta(hours=hours), reported=True) == []


@pytest.mark.parametrize(("text", "expected"), [
    ("14d", T0 + timedelta(days=14)),
    ("2h", T0 + timedelta(hours=2)),
    ("2026-12-01", datetime(2026, 12, 1, tzinfo=UTC)),
    ("2026-12-01T12:30", datetime(2026, 12, 1, 12, 30, tzinfo=UTC)),
    ("2026-12-01T12:30+01:00", datetime(2026, 12, 1, 11, 30, tzinfo=UTC)),
])
def test_parse_when_good(text: str, expected: datetime) -> None:
    assert parse_when(text, T0) == expected


@pytest.mark.parametrize(("text", "words"), [
    ("2026-11-24", "in the past"),
    ("2026-11-25T09:00", "in the past"),
    ("0d", "in the future"),
    ("yesterday", "neither a duration nor a date"),
    ("2026-13-01", "neither a duration nor a date"),
    ("", "neither a duration nor a date"),
])
def test_parse_when_bad(text: str, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_when(text, T0)
    assert words in caught.value.message
