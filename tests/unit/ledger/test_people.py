"""Long lists of people (custody.ledger.people): the commitment byte for byte, the parts under
the entry cap, and a log whose parts do not match its commitment refused by the replay that
``custody ledger verify`` and a monitor run."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime

import pytest

from custody.errors import InvalidInput
from custody.ledger import people
from custody.ledger.entry import Entry, PrevRef
from custody.ledger.merkle import leaf_hash
from custody.ledger.replay import Mismatch, Replay
from custody.ledger.tiles import MAX_ENTRY_SIZE

T = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
SENDER = "0b7c8a3e-4b7f-4c59-9d59-2b0d3c4e5f60"
CASE, TRANSFER, ITEM = "case-1", "transfer-1", "item-1"
IDS = sorted(str(uuid.UUID(int=n * 7919 + 1)) for n in range(3000))


def test_the_commitment_is_sha256_over_the_domain_and_each_sorted_id_and_a_newline() -> None:
    ids = ["a", "b", "c"]
    assert people.digest(ids) == hashlib.sha256(b"custody-people/v1\na\nb\nc\n").hexdigest()
    assert people.digest(ids) != people.digest(["a", "c", "b"])


def test_short_lists_stay_inline_and_long_ones_split_into_parts_under_the_cap() -> None:
    assert people.fits_inline(IDS[:1000])  # ~39 bytes of JSON an id
    assert not people.fits_inline(IDS)
    parts = people.split(IDS)
    assert len(parts) == 3
    assert [p for part in parts for p in part] == IDS
    for number, part in enumerate(parts, 1):
        entry = Entry(people.PART_TYPE, T, SENDER, CASE, TRANSFER, ITEM, None,
                      people.part_data("recipients", number, 3, part))
        assert len(entry.to_bytes()) < MAX_ENTRY_SIZE // 3 * 2


def _altered(person: str) -> str:
    """Another id, still between its neighbours (IDS are 7,919 apart)."""
    return str(uuid.UUID(int=uuid.UUID(person).int + 1))


def _log(ids: list[str], change: int | None = None, orphan: bool = False) -> list[bytes]:
    """A log: three parts of ``ids``, then the transfer:sent that commits to them (part
    ``change`` with one id altered; with ``orphan``, one more part nobody commits to)."""
    chunks = people.split(ids)
    if change is not None:
        chunks[change - 1] = [_altered(chunks[change - 1][0]), *chunks[change - 1][1:]]
    events = [
        Entry(people.PART_TYPE, T, SENDER, CASE, TRANSFER, ITEM, None,
              people.part_data("recipients", n, len(chunks), chunk))
        for n, chunk in enumerate(chunks, 1)
    ]
    committing = {"recipients_committed": people.commitment(ids, range(len(chunks)))}
    events.append(Entry("transfer:sent", T, SENDER, CASE, TRANSFER, ITEM, None, committing))
    if orphan:
        events.append(Entry(people.PART_TYPE, T, SENDER, CASE, TRANSFER, ITEM, None,
                            people.part_data("recipients", 1, 1, ids[:1])))
        events.append(Entry("item:received", T, SENDER, CASE, TRANSFER, ITEM))
    out, prev = [], None
    for index, event in enumerate(events):
        raw = event.with_prev(prev).to_bytes()
        prev = PrevRef(index, leaf_hash(raw).hex())
        out.append(raw)
    return out


def _replay(log: list[bytes]) -> Replay:
    replay = Replay()
    for index, raw in enumerate(log):
        replay.follow(index, raw)
    replay.settled()
    return replay


def test_a_log_whose_parts_match_replays_and_the_list_reads_back() -> None:
    log = _log(IDS)
    assert _replay(log).size == 4
    parsed = {i: Entry.from_bytes(raw) for i, raw in enumerate(log)}
    assert people.named(3, parsed[3], "recipients", parsed) == IDS


@pytest.mark.parametrize(
    ("log", "reason"),
    [
        (_log(IDS, change=2), "do not hash to the committed sha256"),
        (_log(IDS, orphan=True), "entries 4..4 are people:part entries that entry 5 does not"),
        (_log(IDS)[:3], "entries 0..2 are people:part entries that no entry commits to"),
    ],
    ids=["an altered id", "an extra part", "parts with nothing after them"],
)
def test_replay_refuses_parts_that_do_not_match(log: list[bytes], reason: str) -> None:
    with pytest.raises(Mismatch, match=reason):
        _replay(log)


def test_a_missing_or_misnumbered_part_is_named() -> None:
    parsed = {i: Entry.from_bytes(raw) for i, raw in enumerate(_log(IDS))}
    sent = parsed.pop(3)
    without = {i: e for i, e in parsed.items() if i != 1}
    with pytest.raises(InvalidInput, match=r"part 2 of 3 \(entry 1\) is missing"):
        people.named(3, sent, "recipients", without)
    swapped = {**parsed, 0: parsed[1], 1: parsed[0]}
    with pytest.raises(InvalidInput, match="says it is part 2 of 3"):
        people.named(3, sent, "recipients", swapped)


def test_a_monitor_resumes_with_parts_pending() -> None:
    log = _log(IDS)
    replay = Replay()
    for index, raw in enumerate(log[:2]):
        replay.follow(index, raw)
    resumed = Replay.from_state(replay.to_state())
    for index, raw in enumerate(log[2:], 2):
        resumed.follow(index, raw)
    resumed.settled()


def test_an_entry_names_a_list_inline_or_committed_not_both() -> None:
    parsed = {i: Entry.from_bytes(raw) for i, raw in enumerate(_log(IDS))}
    sent = parsed[3]
    both = Entry(sent.type, T, SENDER, CASE, TRANSFER, ITEM, sent.prev,
                 {**sent.data, "recipients": IDS[:2]})
    with pytest.raises(InvalidInput, match="inline or committed to, not both"):
        people.check(3, CASE, TRANSFER, ITEM, SENDER, both.data, parsed)
