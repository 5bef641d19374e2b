"""Replaying a stored log from its entries, to find the first place it was altered.

Pure: the store streams rows in index order into :class:`Replay`, which
recomputes every leaf hash, every complete-subtree hash, every item's ``prev``
chain and the root of the item-heads map each ``ledger:heads`` entry commits
to, and says what does not match. Memory is O(log n) for the tree plus one
(index, leaf) and a few map nodes per item.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from custody.errors import CustodyError
from custody.ledger import heads, merkle, people
from custody.ledger.entry import Entry, PrevRef


@dataclass(frozen=True)
class LedgerVerification:
    """The outcome of recomputing the log: OK with size and root, or the first bad index."""

    ok: bool
    size: int
    root_hash: bytes | None
    first_bad_index: int | None = None
    reason: str | None = None

    def __str__(self) -> str:
        if self.ok and self.root_hash is not None:
            return f"ledger OK: {self.size} entries, root {self.root_hash.hex()}"
        where = "" if self.first_bad_index is None else f" at entry {self.first_bad_index}"
        return f"ledger FAILED{where}: {self.reason}"


class Mismatch(Exception):
    def __init__(self, index: int | None, reason: str) -> None:
        super().__init__(reason)
        self.index = index
        self.reason = reason


class Replay:
    """Feed rows in index order; raises :class:`Mismatch` at the first disagreement."""

    def __init__(self) -> None:
        self.size = 0
        self._frontier: dict[int, bytes] = {}
        self._last: dict[str, PrevRef] = {}
        self._heads = heads.MemoryNodes()
        self._unfolded: dict[bytes, bytes] = {}  # item key -> head hash, since the last fold
        # people:part entries since the last other entry, which must commit to exactly them.
        self._parts: dict[int, Entry] = {}

    def feed(
        self,
        index: int,
        body: bytes,
        stored_leaf: bytes,
        columns: tuple[str | None, str],
        stored_nodes: Mapping[tuple[int, int], bytes],
    ) -> None:
        """Check one stored row (``columns`` = item_id, type) and its completed nodes."""
        self._expect(index)
        leaf = merkle.leaf_hash(body)
        if leaf != stored_leaf:
            raise Mismatch(index, "the entry bytes do not hash to the stored leaf hash")
        entry = self._parse(index, body)
        if columns != (entry.item, entry.type):
            raise Mismatch(index, "the item_id/type columns do not match the entry bytes")
        nodes = self._chain(index, entry, leaf)
        for level, ix, h in nodes:
            if stored_nodes.get((level, ix)) != h:
                what = "leaf hash in the tree" if level == 0 else f"tree node ({level}, {ix})"
                raise Mismatch(index, f"the stored {what} does not match the entries")
        self._advance(index, nodes)

    def follow(self, index: int, body: bytes) -> Entry:
        """One entry as a monitor reads it from the public log (nothing stored to compare
        with): parsed, its ``prev`` and any heads root checked, the tree extended."""
        self._expect(index)
        entry = self._parse(index, body)
        self._advance(index, self._chain(index, entry, merkle.leaf_hash(body)))
        return entry

    def _expect(self, index: int) -> None:
        if index != self.size:
            raise Mismatch(self.size, f"entry {self.size} is missing (next stored is {index})")

    @staticmethod
    def _parse(index: int, body: bytes) -> Entry:
        try:
            return Entry.from_bytes(body)
        except CustodyError as exc:
            raise Mismatch(index, f"the entry bytes are not a valid entry: {exc.message}") from exc

    def _chain(self, index: int, entry: Entry, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Check ``entry``'s place in its item's chain and the heads it commits to; the tree
        nodes it completes."""
        if entry.item is not None:
            want = self._last.get(entry.item)
            if entry.prev != want:
                raise Mismatch(index, f"prev is {entry.prev}, the item's previous entry is {want}")
            self._last[entry.item] = PrevRef(index, leaf.hex())
            key = heads.item_key(entry.item)
            self._unfolded[key] = heads.head_hash(key, index, leaf)
        if entry.type == heads.HEADS_TYPE:
            self._check_heads(index, entry)
        self._check_people(index, entry)
        return merkle.nodes_to_store_on_append(index, leaf, lambda lv, _i: self._frontier[lv])

    def _advance(self, index: int, nodes: list[tuple[int, int, bytes]]) -> None:
        for level, _, _ in nodes:
            self._frontier.pop(level, None)
        self._frontier[nodes[-1][0]] = nodes[-1][2]
        self.size = index + 1

    def _check_people(self, index: int, entry: Entry) -> None:
        """A ``people:part`` waits for the entry after its last sibling, which must commit
        to exactly the parts before it (:mod:`custody.ledger.people`)."""
        if entry.type == people.PART_TYPE:
            self._parts[index] = entry
            return
        parts, self._parts = self._parts, {}
        try:
            spelled = people.check(
                index, entry.case, entry.transfer, entry.item, entry.actor, entry.data, parts
            )
        except CustodyError as exc:
            raise Mismatch(index, exc.message) from exc
        if len(parts) != (0 if spelled is None else len(spelled.parts)):
            first = min(parts)
            raise Mismatch(
                first,
                f"entries {first}..{index - 1} are {people.PART_TYPE} entries that entry {index} "
                "does not commit to",
            )

    def settled(self) -> None:
        """No ``people:part`` waits for the entry that commits to it: true at every checkpoint
        (a transaction's entries are signed together) and at the end of a log."""
        if self._parts:
            first = min(self._parts)
            raise Mismatch(
                first,
                f"entries {first}..{self.size - 1} are {people.PART_TYPE} entries that no entry "
                "commits to",
            )

    def _check_heads(self, index: int, entry: Entry) -> None:
        try:
            committed = heads.committed_root(entry.type, entry.data, index)
        except CustodyError as exc:
            raise Mismatch(index, exc.message) from exc
        folded = heads.update(self._heads, self._unfolded)
        self._unfolded = {}
        if folded != committed:
            raise Mismatch(index, "the item-heads root does not match the entries before it")

    def root(self) -> bytes:
        """The root of the tree replayed so far."""
        if not self._frontier:
            return merkle.EMPTY_ROOT
        hashes = [self._frontier[lv] for lv in sorted(self._frontier, reverse=True)]
        acc = hashes[-1]
        for h in reversed(hashes[:-1]):
            acc = merkle.node_hash(h, acc)
        return acc


    def to_state(self) -> dict[str, Any]:
        """Everything needed to go on from here, as JSON (a monitor's state file)."""
        return {
            "size": self.size,
            "frontier": {str(lv): h.hex() for lv, h in self._frontier.items()},
            "last": {item: [p.index, p.leaf] for item, p in self._last.items()},
            "heads": [[p.depth, p.bits.hex(), n.hash.hex(), None if n.leaf_key is None
                       else n.leaf_key.hex()] for p, n in self._heads.nodes.items()],
            "unfolded": {k.hex(): h.hex() for k, h in self._unfolded.items()},
            "parts": {str(i): e.to_bytes().decode("ascii") for i, e in self._parts.items()},
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Replay:
        """A replay resumed from :meth:`to_state`'s JSON (``ValueError``, ``KeyError`` or
        ``TypeError`` if it is not that)."""
        replay = cls()
        replay.size = int(state["size"])
        replay._frontier = {int(lv): bytes.fromhex(h) for lv, h in state["frontier"].items()}
        replay._last = {str(item): PrevRef(int(i), str(leaf))
                        for item, (i, leaf) in state["last"].items()}
        replay._heads.nodes = {
            heads.Path(int(depth), bytes.fromhex(bits)): heads.Node(
                bytes.fromhex(h), None if key is None else bytes.fromhex(key))
            for depth, bits, h, key in state["heads"]
        }
        replay._unfolded = {bytes.fromhex(k): bytes.fromhex(h)
                            for k, h in state["unfolded"].items()}
        try:
            replay._parts = {int(i): Entry.from_bytes(str(raw).encode("ascii"))
                             for i, raw in state.get("parts", {}).items()}
        except CustodyError as exc:
            raise ValueError(f"a pending part in the state: {exc.message}") from exc
        return replay


def node_count(size: int) -> int:
    """How many complete subtrees a tree of ``size`` leaves has."""
    total, level_size = 0, size
    while level_size:
        total += level_size
        level_size >>= 1
    return total
