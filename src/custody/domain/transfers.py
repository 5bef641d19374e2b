"""The transfer state machine.

::

    draft ──send──▶ sent ──first download──▶ delivered ──ack──▶ acknowledged
      │               │                        │                     │
      └──cancel──▶ cancelled                   │                     │
                    sent | delivered | acknowledged ──revoke──▶ revoked
          sent | delivered | acknowledged | revoked ──compromise──▶ compromised
      sent | delivered | acknowledged | revoked | compromised ──expire──▶ expired

A transfer is a draft while its items are being uploaded and sealed; nothing
is visible to the recipients until it is sent. *Revoked*: the sender (or an
admin of the sending unit) withdrew the recipients' access. *Compromised*: an
incident was opened on it; only its owners keep access. *Expired*: its
retention period ended and its material was crypto-shredded.
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
    COMPROMISED = "compromised"
    EXPIRED = "expired"


class Event(StrEnum):
    SEND = "send"
    DOWNLOAD = "download"
    ACKNOWLEDGE = "acknowledge"
    REVOKE = "revoke"
    CANCEL = "cancel"
    COMPROMISE = "compromise"
    EXPIRE = "expire"


# Where a sent transfer may be, incidents and expiry aside.
_SENT_ON = (
    TransferState.SENT,
    TransferState.DELIVERED,
    TransferState.ACKNOWLEDGED,
    TransferState.REVOKED,
)
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
    **{(state, Event.COMPROMISE): TransferState.COMPROMISED for state in _SENT_ON},
    **{
        (state, Event.EXPIRE): TransferState.EXPIRED
        for state in (*_SENT_ON, TransferState.COMPROMISED)
    },
}

_WHY_NOT = {
    TransferState.DRAFT: "it has not been sent yet",
    TransferState.ACKNOWLEDGED: "it is already acknowledged",
    TransferState.REVOKED: "it was revoked",
    TransferState.CANCELLED: "it was cancelled",
    TransferState.SENT: "it is already sent",
    TransferState.DELIVERED: "it is already delivered",
    TransferState.COMPROMISED: "it is under an incident (compromised)",
    TransferState.EXPIRED: "its retention period ended and it was shredded",
}

# Transfers whose acknowledgement deadline still matters.
AWAITING_ACK = frozenset({TransferState.SENT, TransferState.DELIVERED})


def next_state(state: TransferState, event: Event) -> TransferState:
    """The state after ``event``, or :class:`Conflict` saying why it cannot happen."""
    try:
        return _NEXT[(state, event)]
    except KeyError:
        raise Conflict(f"cannot {event.value} this transfer: {_WHY_NOT[state]}") from None


_DURATION = re.compile(r"^\s*([0-9]+)\s*([mhdw])\s*$", re.ASCII)  # ASCII digits only
_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_ACK = timedelta(days=90)


def parse_duration(text: str) -> timedelta:
    """``30m``, ``24h``, ``3d``, ``2w`` → a positive timedelta of at most 90 days."""
    match = _DURATION.fullmatch(text.lower())
    if not match:
        raise InvalidInput(
            f"{text!r} is not a duration", hint="write a number and a unit: 30m, 24h, 3d or 2w"
        )
    # Compared as whole seconds first: any number of digits is safe to check.
    seconds = int(match[1]) * _SECONDS[match[2]]
    if seconds <= 0:
        raise InvalidInput("a deadline must be in the future", hint="use a positive duration")
    if seconds > MAX_ACK.total_seconds():
        raise InvalidInput("an acknowledgement deadline can be at most 90 days")
    return timedelta(seconds=seconds)
