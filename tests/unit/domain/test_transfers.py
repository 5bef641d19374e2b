"""The transfer state machine and acknowledgement deadlines (custody.domain.transfers)."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from custody.domain.transfers import Event, TransferState, next_state, parse_duration
from custody.errors import Conflict, InvalidInput

S, E = TransferState, Event

ALLOWED = {
    (S.DRAFT, E.SEND): S.SENT,
    (S.DRAFT, E.CANCEL): S.CANCELLED,
    (S.SENT, E.DOWNLOAD): S.DELIVERED,
    (S.DELIVERED, E.DOWNLOAD): S.DELIVERED,
    (S.ACKNOWLEDGED, E.DOWNLOAD): S.ACKNOWLEDGED,
    (S.SENT, E.ACKNOWLEDGE): S.ACKNOWLEDGED,
    (S.DELIVERED, E.ACKNOWLEDGE): S.ACKNOWLEDGED,
    (S.SENT, E.REVOKE): S.REVOKED,
    (S.DELIVERED, E.REVOKE): S.REVOKED,
    (S.ACKNOWLEDGED, E.REVOKE): S.REVOKED,
    (S.SENT, E.COMPROMISE): S.COMPROMISED,
    (S.DELIVERED, E.COMPROMISE): S.COMPROMISED,
    (S.ACKNOWLEDGED, E.COMPROMISE): S.COMPROMISED,
    (S.REVOKED, E.COMPROMISE): S.COMPROMISED,
    (S.SENT, E.EXPIRE): S.EXPIRED,
    (S.DELIVERED, E.EXPIRE): S.EXPIRED,
    (S.ACKNOWLEDGED, E.EXPIRE): S.EXPIRED,
    (S.REVOKED, E.EXPIRE): S.EXPIRED,
    (S.COMPROMISED, E.EXPIRE): S.EXPIRED,
}
REFUSED = sorted(set(itertools.product(S, E)) - set(ALLOWED))
WHY = {
    S.DRAFT: "it has not been sent yet",
    S.SENT: "it is already sent",
    S.DELIVERED: "it is already delivered",
    S.ACKNOWLEDGED: "it is already acknowledged",
    S.REVOKED: "it was revoked",
    S.CANCELLED: "it was cancelled",
    S.COMPROMISED: "it is under an incident (compromised)",
    S.EXPIRED: "its retention period ended and it was shredded",
}


@pytest.mark.parametrize(("state", "event"), sorted(ALLOWED))
def test_allowed_transitions(state: TransferState, event: Event) -> None:
    assert next_state(state, event) is ALLOWED[(state, event)]


@pytest.mark.parametrize(("state", "event"), REFUSED)
def test_refused_transitions(state: TransferState, event: Event) -> None:
    with pytest.raises(Conflict) as caught:
        next_state(state, event)
    assert caught.value.message == f"cannot {event.value} this transfer: {WHY[state]}"


def test_the_tables_cover_every_pair() -> None:
    assert len(ALLOWED) + len(REFUSED) == len(S) * len(E)
    # Terminal states accept nothing; a revoked transfer can still turn out compromised or be
    # shredded, a compromised one only shredded; nothing leads back to a draft or to readable.
    for event in E:
        for terminal in (S.CANCELLED, S.EXPIRED):
            assert (terminal, event) in REFUSED
        if event not in (E.COMPROMISE, E.EXPIRE):
            assert (S.REVOKED, event) in REFUSED
        if event is not E.EXPIRE:
            assert (S.COMPROMISED, event) in REFUSED
    assert S.DRAFT not in ALLOWED.values()
    readable = {S.SENT, S.DELIVERED, S.ACKNOWLEDGED}
    for closed in (S.REVOKED, S.COMPROMISED, S.EXPIRED):
        assert not any(src == closed and dst in readable for (src, _), dst in ALLOWED.items())


def test_a_happy_path_walk() -> None:
    state = S.DRAFT
    for event in (E.SEND, E.DOWNLOAD, E.DOWNLOAD, E.ACKNOWLEDGE, E.DOWNLOAD, E.REVOKE):
        state = next_state(state, event)
    assert state is S.REVOKED


@pytest.mark.parametrize(("text", "expected"), [
    ("30m", timedelta(minutes=30)),
    ("1m", timedelta(minutes=1)),
    ("24h", timedelta(hours=24)),
    ("3d", timedelta(days=3)),
    ("2w", timedelta(weeks=2)),
    (" 5 h ", timedelta(hours=5)),
    ("12H", timedelta(hours=12)),
    ("90d", timedelta(days=90)),
    ("2160h", timedelta(days=90)),
    ("129600m", timedelta(days=90)),
    ("007d", timedelta(days=7)),
])
def test_parse_duration_good(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(("text", "words"), [
    ("", "not a duration"),
    ("24", "not a duration"),
    ("h", "not a duration"),
    ("-1h", "not a duration"),
    ("1.5h", "not a duration"),
    ("24 hours", "not a duration"),
    ("1y", "not a duration"),
    ("1s", "not a duration"),
    ("1d2h", "not a duration"),
    ("tomorrow", "not a duration"),
    ("0m", "in the future"),
    ("0d", "in the future"),
    ("91d", "at most 90 days"),
    ("13w", "at most 90 days"),
    ("2161h", "at most 90 days"),
    ("129601m", "at most 90 days"),
])
def test_parse_duration_bad(text: str, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_duration(text)
    assert words in caught.value.message


@pytest.mark.parametrize("text", ["99999999999d", "9" * 30 + "m"])
def test_parse_duration_huge_number_is_invalid_input(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_duration(text)
