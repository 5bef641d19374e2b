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

from custody.errors import CustodyError
from custody.ledger import heads, merkle
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

    def feed(
        self,
        index: int,
        body: bytes,
        stored_leaf: bytes,
        columns: tuple[str | None, str],
        stored_nodes: Mapping[tuple[int, int], bytes],
    ) -> None:
        """Check one stored row (``columns`` = item_id, type) and its completed nodes."""
        if index != self.size:
            raise Mismatch(self.size, f"entry {self.size} is missing (next stored is {index})")
        leaf = merkle.leaf_hash(body)
        if leaf != stored_leaf:
            raise Mismatch(index, "the entry bytes do not hash to the stored leaf hash")
        try:
            entry = Entry.from_bytes(body)
        except CustodyError as exc:
            raise Mismatch(index, f"the entry bytes are not a valid entry: {exc.message}") from exc
        if columns != (entry.item, entry.type):
            raise Mismatch(index, "the item_id/type columns do not match the entry bytes")
        if entry.item is not None:
            want = self._last.get(entry.item)
            if entry.prev != want:
                raise Mismatch(index, f"prev is {entry.prev}, the item's previous entry is {want}")
            self._last[entry.item] = PrevRef(index, leaf.hex())
            key = heads.item_key(entry.item)
            self._unfolded[key] = heads.head_hash(key, index, leaf)
        if entry.type == heads.HEADS_TYPE:
            self._check_heads(index, entry)
        nodes = merkle.nodes_to_store_on_append(index, leaf, lambda lv, _i: self._frontier[lv])
        for level, ix, h in nodes:
            if stored_nodes.get((level, ix)) != h:
                what = "leaf hash in the tree" if level == 0 else f"tree node ({level}, {ix})"
                raise Mismatch(index, f"the stored {what} does not match the entries")
            self._frontier.pop(level, None)
        self._frontier[nodes[-1][0]] = nodes[-1][2]
        self.size = index + 1

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


def node_count(size: int) -> int:
    """How many complete subtrees a tree of ``size`` leaves has."""
    total, level_size = 0, size
    while level_size:
        total += level_size
        level_size >>= 1
    return total
