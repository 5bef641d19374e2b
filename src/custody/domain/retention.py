"""Retention periods: when an item's material is crypto-shredded (pure; ``now`` is passed in)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from custody.errors import InvalidInput

_PERIOD = re.compile(r"^\s*([0-9]{1,4})\s*([dwy])\s*$", re.ASCII)
_DAYS = {"d": 1, "w": 7, "y": 365}
MAX_RETENTION = timedelta(days=100 * 365)
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$", re.ASCII)


def retention_end(now: datetime, *, until: str | None, for_: str | None) -> datetime:
    """``--until 2033-01-31`` or ``--for 7y`` (days, weeks or years) → a future UTC moment."""
    if (until is None) == (for_ is None):
        raise InvalidInput("give exactly one of --until DATE or --for DURATION")
    if for_ is not None:
        match = _PERIOD.match(for_.lower())
        if not match:
            raise InvalidInput(
                f"{for_!r} is not a retention period", hint="write e.g. 90d, 26w or 7y"
            )
        days = int(match[1]) * _DAYS[match[2]]
        if days <= 0:
            raise InvalidInput("a retention period must be longer than nothing")
        end = now + timedelta(days=days)
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
    if end - now > MAX_RETENTION:
        raise InvalidInput("a retention period can be at most 100 years")
    return end


def check_subject(reference: str) -> str:
    """A pseudonymous data-subject reference: an opaque token, never a name."""
    reference = reference.strip()
    if not _REF.match(reference):
        raise InvalidInput(
            f"{reference!r} is not a subject reference",
            hint="use the pseudonymous reference from your case system (letters, digits, "
            ". _ : / -; no spaces, at most 64 characters), never a name",
        )
    return reference
