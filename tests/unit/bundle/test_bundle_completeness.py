"""A bundle proves each trail complete up to its checkpoint, and a cut one is refused.

Security review, finding 4: the ``prev`` chain links backwards only, so a bundle without
the download, receipt and revocation entries still verified and said "trails complete".
Now the checkpoint's last entry commits to every item's latest entry (``ledger:heads``),
and the bundle proves each item's head is its last entry shown.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from custody.bundle import build_bundle, verify_bundle
from custody.crypto.signing import SigningKey
from custody.errors import IntegrityError
from custody.ledger import heads, note
from custody.ledger.checkpoint import Checkpoint, sign_checkpoint
from custody.ledger.entry import Entry, PrevRef
from custody.ledger.merkle import MemoryTree, inclusion_proof, leaf_hash
from custody.ledger.replay import Mismatch, Replay

ORIGIN = "custody.example/ledger"
LOG = note.Signer(ORIGIN, SigningKey(bytes(range(32))))
T = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
TRAIL = ["item:created", "item:sealed", "item:downloaded", "item:received", "transfer:revoked"]


class Log:
    """A log built by the rules the server follows, heads entry and all."""

    def __init__(self) -> None:
        self.tree, self.bodies = MemoryTree(), []
        self.last: dict[str, PrevRef] = {}
        self.map = heads.MemoryNodes()

    def add(self, type_: str, item: str | None) -> int:
        entry = Entry(type_, T, "u1", item=item)
        if item is not None:
            entry = entry.with_prev(self.last.get(item))
        body = entry.to_bytes()
        index = self.tree.append(body)
        self.bodies.append(body)
        if item is not None:
            self.last[item] = PrevRef(index, leaf_hash(body).hex())
        return index

    def seal_heads(self, heads_of: dict[str, PrevRef] | None = None) -> int:
        """Append the ledger:heads entry over every entry so far (or over ``heads_of``: a lie)."""
        state = self.last if heads_of is None else heads_of
        changes = {}
        for item, ref in state.items():
            key = heads.item_key(item)
            changes[key] = heads.head_hash(key, ref.index, bytes.fromhex(ref.leaf))
        root = heads.update(self.map, changes)
        data = heads.entry_data(root, self.tree.size)
        return self.add_entry(Entry(heads.HEADS_TYPE, T, "system", data=data))

    def add_entry(self, entry: Entry) -> int:
        body = entry.to_bytes()
        self.bodies.append(body)
        return self.tree.append(body)

    def bundle(self, shown: Sequence[int], *, with_heads: bool = True) -> bytes:
        size = self.tree.size
        signed = sign_checkpoint(Checkpoint(ORIGIN, size, self.tree.root()), LOG)
        rows = [(i, self.bodies[i], inclusion_proof(self.tree, i, size)) for i in shown]
        items = {Entry.from_bytes(self.bodies[i]).item for i in shown} - {None}
        proofs = {i: heads.prove(self.map, heads.item_key(i)) for i in items if i is not None}
        return build_bundle(ORIGIN, signed, rows, [], proofs if with_heads else None)


def _trail_log() -> tuple[Log, list[int], int]:
    log = Log()
    indexes = []
    for type_ in TRAIL:
        indexes.append(log.add(type_, "i1"))
        log.add("item:created", f"other-{len(indexes)}")  # other items' entries in between
    return log, indexes, log.seal_heads()


def test_a_whole_trail_is_proven_complete_up_to_the_checkpoint() -> None:
    log, trail, sealed = _trail_log()
    report = verify_bundle(log.bundle([*trail, sealed]), LOG.verifier.vkey)
    assert any(
        f"trail of item i1 complete up to the checkpoint: entry {trail[-1]} is its latest" in c
        for c in report.checks
    )
    assert report.caveats == []


@pytest.mark.parametrize("kept", [3, 4], ids=["no receipt, no revocation", "no revocation"])
def test_a_trail_cut_short_is_refused(kept: int) -> None:
    log, trail, sealed = _trail_log()
    with pytest.raises(IntegrityError, match="trail of item i1 is not complete"):
        verify_bundle(log.bundle([*trail[:kept], sealed]), LOG.verifier.vkey)


def test_without_its_heads_proof_a_bundle_says_what_it_does_not_prove() -> None:
    log, trail, _ = _trail_log()
    report = verify_bundle(log.bundle(trail[:3], with_heads=False), LOG.verifier.vkey)
    assert not any("complete" in c for c in report.checks)
    assert any("unbroken from each item's first entry" in c for c in report.checks)
    assert any("does not prove that no entry of these items follows" in c for c in report.caveats)


def test_the_heads_entry_must_be_the_checkpoints_last_and_commit_to_what_precedes_it() -> None:
    log, trail, sealed = _trail_log()
    log.add("item:created", "late")  # the checkpoint now ends after the heads entry
    with pytest.raises(IntegrityError, match="not the checkpoint's last"):
        verify_bundle(log.bundle([*trail, sealed]), LOG.verifier.vkey)
    members = _members(log.bundle(trail))  # heads entry not included
    manifest = json.loads(members["manifest.json"])
    assert manifest["heads"]["index"] == log.tree.size - 1
    with pytest.raises(IntegrityError, match="heads"):
        verify_bundle(log.bundle(trail), LOG.verifier.vkey)


def test_a_lying_heads_root_is_a_permanent_entry_that_a_replay_of_the_log_catches() -> None:
    """A server that commits to a stale head can cut a trail a verifier cannot tell from a
    whole one; but the lie is a signed entry of the public log, and recomputing the log
    (``custody ledger verify``, a monitor) names it."""
    log = Log()
    trail = [log.add(t, "i1") for t in TRAIL]
    stale = {"i1": PrevRef(trail[2], leaf_hash(log.bodies[trail[2]]).hex())}
    sealed = log.seal_heads(heads_of=stale)
    verify_bundle(log.bundle([*trail[:3], sealed]), LOG.verifier.vkey)  # fools the verifier
    with pytest.raises(Mismatch, match="item-heads root") as caught:
        _replay(log)
    assert caught.value.index == sealed
    honest, *_ = _trail_log()
    _replay(honest)  # and an honest log replays clean


def _replay(log: Log) -> None:
    replay = Replay()
    for index, body in enumerate(log.bodies):
        replay.feed(index, body, leaf_hash(body), _columns(body), _completed(log.tree, index))


def _columns(body: bytes) -> tuple[str | None, str]:
    entry = Entry.from_bytes(body)
    return entry.item, entry.type


def _completed(tree: MemoryTree, index: int) -> dict[tuple[int, int], bytes]:
    """The tree nodes appending leaf ``index`` completed, as the store keeps them."""
    nodes, level, i = {}, 0, index
    while True:
        nodes[(level, i)] = tree.nodes([(level, i)])[0]
        if i % 2 == 0:
            return nodes
        level, i = level + 1, i // 2


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}
