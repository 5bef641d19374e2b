"""The monitor follows a log through its checkpoint and entry bundles, and raises an alarm on
whatever an honest log cannot show: a rollback, a fork, entries that do not give the signed
root, a malformed entry, a broken ``prev`` chain, a checkpoint without its witnesses.

The log is the real one of an in-process server (its entries, signed with its real key), served
as the operator — hostile here — chooses: :class:`support.hostile.ForgedLog`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from custody.crypto.signing import SigningKey
from custody.ledger import tiles
from custody.ledger.cosignature import Cosigner, add_signatures
from custody.ledger.entry import Entry
from custody.monitor.core import Alarm, Monitor, Watch
from custody.witness.core import Witness, request_body
from support.client import Desks, entries, grow, signer
from support.hostile import ForgedLog


class Served:
    """What the log's URL answers: a checkpoint and entry bundles, from ``log``."""

    def __init__(self, log: ForgedLog) -> None:
        self.log = log
        self.note: bytes | None = None
        self.asked: list[str] = []

    def __call__(self, path: str) -> bytes:
        self.asked.append(path)
        if path == "checkpoint":
            return self.note or self.log.checkpoint()
        ref = tiles.parse_tile_path(path)
        start = ref.n * tiles.TILE_WIDTH
        return tiles.entry_bundle(self.log.entries[start:start + ref.width])


def _monitor(desks: Desks, served: Served, tmp_path: Path, **kw: object) -> Monitor:
    return Monitor(signer(desks).verifier, tmp_path / "monitor.json", served, **kw)  # type: ignore[arg-type]


@pytest.mark.slow  # over three seconds: the whole suite runs it, the fast run does not
def test_an_honest_log_is_followed_round_after_round(desks: Desks, tmp_path: Path) -> None:
    grow(desks, 5)
    log = ForgedLog(signer(desks), entries(desks))
    served = Served(log)
    first = _monitor(desks, served, tmp_path).round()
    assert (first.verified_from, first.checkpoint.size) == (0, len(log.entries))
    grow(desks, 300)  # past the first entry bundle: full and partial bundles
    log = ForgedLog(signer(desks), entries(desks))
    served = Served(log)
    again = _monitor(desks, served, tmp_path).round()  # a new process: from its state file
    assert again.verified_from == first.checkpoint.size
    assert again.checkpoint.size == len(log.entries) > tiles.TILE_WIDTH
    assert served.asked == ["checkpoint", "tile/entries/000", "tile/entries/001.p/"
                            f"{len(log.entries) - tiles.TILE_WIDTH}"]
    assert _monitor(desks, Served(log), tmp_path).round().new_entries == 0


def test_a_rollback_and_a_fork_are_alarms(desks: Desks, tmp_path: Path) -> None:
    grow(desks, 6)
    real = entries(desks)
    _monitor(desks, Served(ForgedLog(signer(desks), real)), tmp_path).round()
    with pytest.raises(Alarm, match=f"tree of {len(real) - 2} entries after one of {len(real)}"):
        _monitor(desks, Served(ForgedLog(signer(desks), real[:-2])), tmp_path).round()
    swapped = [*real]
    swapped[2] = Entry(type="key:registered", time=datetime.now(UTC), actor="system",
                       data={"age_recipient": "age1forged"}).to_bytes()
    with pytest.raises(Alarm, match="two different trees") as fork:
        _monitor(desks, Served(ForgedLog(signer(desks), swapped)), tmp_path).round()
    assert "-- " not in fork.value.evidence["remembered"]  # the signed notes themselves
    assert fork.value.evidence["remembered"] != fork.value.evidence["shown"]


def test_entries_that_do_not_give_the_signed_root_are_an_alarm(
    desks: Desks, tmp_path: Path
) -> None:
    grow(desks, 4)
    real = entries(desks)
    served = Served(ForgedLog(signer(desks), real))
    changed = [*real]
    changed[-1] = changed[-2]  # serves other bytes than the tree it signed
    served.log = ForgedLog(signer(desks), changed)
    served.note = ForgedLog(signer(desks), real).checkpoint()
    with pytest.raises(Alarm, match="do not hash to the root its checkpoint signs"):
        _monitor(desks, served, tmp_path).round()
    assert not (tmp_path / "monitor.json").exists()  # nothing was taken in


@pytest.mark.parametrize("damage", ["malformed", "chain"])
def test_a_malformed_entry_or_a_broken_chain_is_an_alarm(
    desks: Desks, tmp_path: Path, damage: str
) -> None:
    grow(desks, 3)
    real = entries(desks)
    bad = [*real]
    if damage == "malformed":
        bad.append(b'{"v":1,"type":"item:sealed","size":1.5}')
        want = "not a valid entry"
    else:
        item, now = str(uuid.uuid4()), datetime.now(UTC)
        bad.append(Entry(type="item:created", time=now, actor="system", item=item).to_bytes())
        bad.append(Entry(type="item:downloaded", time=now, actor="system",
                         item=item).to_bytes())  # no prev: as if the trail began again
        want = "prev is None, the item's previous entry is"
    with pytest.raises(Alarm, match=want):  # signed with the real key, consistently
        _monitor(desks, Served(ForgedLog(signer(desks), bad)), tmp_path).round()


def test_watched_cases_and_people_are_reported(desks: Desks, tmp_path: Path) -> None:
    log_entries = [Entry.from_bytes(e) for e in entries(desks)]
    registered = next(e for e in log_entries if e.type == "key:registered")
    grow(desks, 2)
    watch = Watch(people=frozenset({registered.actor}))
    done = _monitor(desks, Served(ForgedLog(signer(desks), entries(desks))), tmp_path,
                    watch=watch).round()
    assert [n.entry.type for n in done.notices] == ["key:registered"]
    assert done.notices[0].to_json()["actor"] == registered.actor
    assert done.notices[0].why == f"person {registered.actor}"


def test_a_checkpoint_without_its_witnesses_is_an_alarm(desks: Desks, tmp_path: Path) -> None:
    grow(desks, 2)
    log = ForgedLog(signer(desks), entries(desks))
    cosigner = Cosigner("witness.example/w1", SigningKey.generate())
    served = Served(log)
    kw = {"witnesses": [cosigner.verifier], "quorum": 1}
    with pytest.raises(Alarm, match="0 of the 1 witness cosignatures"):
        _monitor(desks, served, tmp_path, **kw).round()
    witness = Witness(cosigner, [signer(desks).verifier], tmp_path / "w.db")
    answer = witness.add_checkpoint(request_body(0, [], log.checkpoint()))
    served.note = add_signatures(log.checkpoint(), answer.body.decode())
    assert _monitor(desks, served, tmp_path, **kw).round().witnesses == (cosigner.name,)
