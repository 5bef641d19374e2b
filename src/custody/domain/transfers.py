"""The transfer state machine.

::

    draft ──send──▶ sent ──first download──▶ delivered ──ack──▶ acknowledged
      │               │                        │
      └──cancel──▶ cancelled                   └──(revoke)──▶ revoked   (later issue)

A transfer is a draft while its items are being uploaded and sealed; nothing
is visible to the recipients until it is sent.
"""

from __future__ import annotations

import re
from datetime import timedelta
from enum import StrEnum

from custody.errors import Conflict, InvalidInput


class TransferState(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    DELIVERED = "delivered"
    ACKNOWLEDGED = "acknowledged"
    REVOKED = "revoked"
    CANCELLED = "cancelled"


class Event(StrEnum):
    SEND = "send"
    DOWNLOAD = "download"
    ACKNOWLEDGE = "acknowledge"
    REVOKE = "revoke"
    CANCEL = "cancel"


_NEXT: dict[tuple[TransferState, Event], TransferState] = {
    (TransferState.DRAFT, Event.SEND): TransferState.SENT,
    (TransferState.DRAFT, Event.CANCEL): TransferState.CANCELLED,
    (TransferState.SENT, Event.DOWNLOAD): TransferState.DELIVERED,
    (TransferState.DELIVERED, Event.DOWNLOAD): TransferState.DELIVERED,
    (TransferState.ACKNOWLEDGED, Event.DOWNLOAD): TransferState.ACKNOWLEDGED,
    # Acknowledging without downloading is allowed: a recipient may receive
    # through another member of the unit, and says so by acknowledging.
    (TransferState.SENT, Event.ACKNOWLEDGE): TransferState.ACKNOWLEDGED,
    (TransferState.DELIVERED, Event.ACKNOWLEDGE): TransferState.ACKNOWLEDGED,
    (TransferState.SENT, Event.REVOKE): TransferState.REVOKED,
    (TransferState.DELIVERED, Event.REVOKE): TransferState.REVOKED,
    (TransferState.ACKNOWLEDGED, Event.REVOKE): TransferState.REVOKED,
}

_WHY_NOT = {
    TransferState.DRAFT: "it has not been sent yet",
    TransferState.ACKNOWLEDGED: "it is already acknowledged",
    TransferState.REVOKED: "it was revoked",
    TransferState.CANCELLED: "it was cancelled",
    TransferState.SENT: "it is already sent",
    TransferState.DELIVERED: "it is already delivered",
}


def next_state(state: TransferState, event: Event) -> TransferState:
    """The state after ``event``, or :class:`Conflict` saying why it cannot happen."""
    try:
        return _NEXT[(state, event)]
    except KeyError:
        raise Conflict(f"cannot {event.value} this transfer: {_WHY_NOT[state]}") from None


_DURATION = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """``30m``, ``24h``, ``3d``, ``2w`` → a positive timedelta of at most 90 days."""
    match = _DURATION.match(text.lower())
    if not match:
        raise InvalidInput(
            f"{text!r} is not a duration", hint="write a number and a unit: 30m, 24h, 3d or 2w"
        )
    amount, unit = int(match[1]), match[2]
    delta = timedelta(**{_UNITS[unit]: amount})
    if delta <= timedelta(0):
        raise InvalidInput("a deadline must be in the future", hint="use a positive duration")
    if delta > timedelta(days=90):
        raise InvalidInput("an acknowledgement deadline can be at most 90 days")
    return delta
