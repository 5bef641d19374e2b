"""Retention periods: when an item's material is crypto-shredded (pure; ``now`` is passed in)."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta

from custody.errors import InvalidInput

_PERIOD = re.compile(r"^\s*([0-9]{1,4})\s*([dwmy])\s*$", re.ASCII)
_DAYS = {"d": 1, "w": 7}
_MONTHS = {"m": 1, "y": 12}
MAX_YEARS = 100
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$", re.ASCII)


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` calendar months later; the month's last day if that
    day does not exist (31 January + 1 month is 28 or 29 February; 29 February + 1 year is
    28 February)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def retention_end(now: datetime, *, until: str | None, for_: str | None) -> datetime:
    """``--until 2033-01-31`` or ``--for 7y`` → a future UTC moment.

    Days and weeks are exact; months and years are calendar periods, as a retention
    schedule means them: 7 years from 1 March 2026 is 1 March 2033, whatever the leap days.
    """
    if (until is None) == (for_ is None):
        raise InvalidInput("give exactly one of --until DATE or --for DURATION")
    if for_ is not None:
        match = _PERIOD.fullmatch(for_.lower())
        if not match:
            raise InvalidInput(
                f"{for_!r} is not a retention period", hint="write e.g. 90d, 26w, 18m or 7y"
            )
        count, unit = int(match[1]), match[2]
        if count <= 0:
            raise InvalidInput("a retention period must be longer than nothing")
        if unit in _DAYS:
            end = now + timedelta(days=count * _DAYS[unit])
        elif count * _MONTHS[unit] > MAX_YEARS * 12:  # refused before a year past 9999
            raise InvalidInput(f"a retention period can be at most {MAX_YEARS} years")
        else:
            end = add_months(now, count * _MONTHS[unit])
    else:
        if until is None:  # narrowed by the check above; kept for the type checker
            raise InvalidInput("give --until DATE or --for PERIOD")
        try:
            end = datetime.fromisoformat(until.strip())
        except ValueError:
            raise InvalidInput(
                f"{until!r} is not a date", hint="write e.g. 2033-01-31 or 2033-01-31T12:00"
            ) from None
        end = end.replace(tzinfo=UTC) if end.tzinfo is None else end.astimezone(UTC)
        if end <= now:
            raise InvalidInput(
                f"{end:%Y-%m-%d %H:%M} UTC is in the past",
                hint="a retention date must be in the future; to destroy material now, "
                "ask the operator (custody admin shred)",
            )
    if end > add_months(now, MAX_YEARS * 12):
        raise InvalidInput(f"a retention period can be at most {MAX_YEARS} years")
    return end


def check_subject(reference: str) -> str:
    """A pseudonymous data-subject reference: an opaque token, never a name."""
    reference = reference.strip()
    if not _REF.fullmatch(reference):
        raise InvalidInput(
            f"{reference!r} is not a subject reference",
            hint="use the pseudonymous reference from your case system (letters, digits, "
            ". _ : / -; no spaces, at most 64 characters), never a name",
        )
    return reference
