"""The item-heads map: each item's latest entry, committed to by the log itself.

An item's ``prev`` chain proves that no entry is missing *between* two entries of its
trail, but not that the trail was not cut short: a bundle without the download, the
receipt and the revocation still chains. So, when a bundle is made, the log commits to
every item's latest entry: a ``ledger:heads`` entry holding the root of this map over all
entries before it, appended as the last entry of the checkpoint the bundle proves against.
A proof that item X's head in that map is the last entry of X in the bundle shows the
trail is complete up to the checkpoint. Anyone who holds the log can recompute each
``ledger:heads`` root (``custody ledger verify``, a monitor): a wrong root is a signed,
permanent entry, and witnesses make sure everyone sees the same one.

The map is a sparse Merkle tree over 256-bit keys, K = SHA-256("custody-item\\n" || id),
in its compact form (a subtree holding one key is that key's leaf, wherever it sits):

    empty subtree             32 zero bytes
    one key K, head (i, L)    SHA-256(0x10 || K || u64be(i) || L)
    two or more keys          SHA-256(0x11 || left || right), split on the next bit of K

The prefixes differ from RFC 9162's (0x00, 0x01), so no map node is ever a log node.
A proof is the siblings along K's path from the root down to K's leaf; the deepest one
is never empty (else the leaf would sit one level higher), which makes each key's proof
unique. Pure: node storage is the caller's (:class:`NodeStore`).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from custody.errors import IntegrityError
from custody.ledger.events import EntryType

EMPTY = bytes(32)
_LEAF, _BRANCH = b"\x10", b"\x11"
HEADS_TYPE = EntryType.LEDGER_HEADS  # the entry that commits to the map


class InvalidHeadProof(IntegrityError):
    """A head proof does not lead to the committed root."""


def entry_data(root_hash: bytes, size: int) -> dict[str, object]:
    """The data of the ``ledger:heads`` entry at index ``size``: the root over entries below."""
    return {"heads_root": root_hash.hex(), "size": size}


def committed_root(entry_type: str, data: Mapping[str, object], index: int) -> bytes:
    """The heads root a ``ledger:heads`` entry at ``index`` commits to (checked in shape)."""
    root_hex, size = data.get("heads_root"), data.get("size")
    if entry_type != HEADS_TYPE or set(data) != {"heads_root", "size"} or size != index:
        raise InvalidHeadProof(f"entry {index} is not a ledger:heads entry of the entries below")
    if not isinstance(root_hex, str) or len(root_hex) != 64:
        raise InvalidHeadProof(f"entry {index}: heads_root is not 64 hex digits")
    try:
        return bytes.fromhex(root_hex)
    except ValueError as exc:
        raise InvalidHeadProof(f"entry {index}: heads_root is not hex") from exc


def item_key(item_id: str) -> bytes:
    return hashlib.sha256(b"custody-item\n" + item_id.encode("utf-8")).digest()


def head_hash(key: bytes, index: int, leaf: bytes) -> bytes:
    """The map leaf saying "the latest entry of key's item is ``index``, leaf hash ``leaf``"."""
    return hashlib.sha256(_LEAF + key + struct.pack(">Q", index) + leaf).digest()


def branch_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(_BRANCH + left + right).digest()


def bit(key: bytes, depth: int) -> int:
    return (key[depth >> 3] >> (7 - (depth & 7))) & 1


@dataclass(frozen=True)
class Path:
    """A node of the map, named by the way down to it from the root: the first ``depth`` bits
    of every key below it (the rest of ``bits`` zero)."""

    depth: int
    bits: bytes

    @classmethod
    def of(cls, key: bytes, depth: int) -> Path:
        prefix = bytearray(key[: (depth + 7) // 8])
        if depth % 8:
            prefix[-1] &= 0xFF << (8 - depth % 8) & 0xFF
        return cls(depth, bytes(prefix))

    def sibling_of_child(self, key: bytes) -> Path:
        """The child of this node that ``key`` does not go to."""
        child = bytearray(Path.of(key, self.depth + 1).bits)
        child[self.depth >> 3] ^= 0x80 >> (self.depth & 7)
        return Path(self.depth + 1, bytes(child))

    def children(self) -> tuple[Path, Path]:
        """The node's two children: the next bit 0, then 1."""
        bits = self.bits + bytes((self.depth + 8) // 8 - len(self.bits))
        right = bytearray(bits)
        right[self.depth >> 3] |= 0x80 >> (self.depth & 7)
        return Path(self.depth + 1, bits), Path(self.depth + 1, bytes(right))

    def encode(self) -> bytes:
        return struct.pack(">H", self.depth) + self.bits


@dataclass(frozen=True)
class Node:
    hash: bytes
    leaf_key: bytes | None  # set for a subtree that holds one key: that key


class NodeStore(Protocol):
    def load(self, paths: Iterable[Path]) -> Mapping[Path, Node]: ...
    def save(self, nodes: Mapping[Path, Node]) -> None: ...


class MemoryNodes:
    """A whole map in memory (``custody ledger verify``'s replay, tests)."""

    def __init__(self) -> None:
        self.nodes: dict[Path, Node] = {}

    def load(self, paths: Iterable[Path]) -> Mapping[Path, Node]:
        return {p: self.nodes[p] for p in paths if p in self.nodes}

    def save(self, nodes: Mapping[Path, Node]) -> None:
        self.nodes.update(nodes)


def root(store: NodeStore) -> bytes:
    top = store.load([Path(0, b"")]).get(Path(0, b""))
    return EMPTY if top is None else top.hash


def update(store: NodeStore, heads: Mapping[bytes, bytes]) -> bytes:
    """Set the heads (key -> :func:`head_hash`) of some items; the new root.

    Nodes are read level by level along the changed keys' paths (one ``load`` per level),
    recomputed in memory and written back in one ``save``.
    """
    if not heads:
        return root(store)
    cache: dict[Path, Node | None] = {}
    descending, depth = sorted(heads), 0
    while descending:
        paths = {Path.of(k, depth) for k in descending}
        if depth:
            paths |= {Path.of(k, depth - 1).sibling_of_child(k) for k in descending}
        found = store.load([p for p in paths if p not in cache])
        cache.update({p: found.get(p) for p in paths if p not in cache})
        descending = [k for k in descending if _is_branch(cache[Path.of(k, depth)])]
        depth += 1
    written: dict[Path, Node] = {}

    def branch(path: Path) -> Node:
        hashes = []
        for child in path.children():
            node = written.get(child) or cache.get(child)
            hashes.append(EMPTY if node is None else node.hash)
        return Node(branch_hash(*hashes), None)

    def split(
        path: Path, content: dict[bytes, bytes], then: Callable[[Path, dict[bytes, bytes]], None]
    ) -> None:
        """``then`` on each child's part of ``content``; ``path`` is the branch over them."""
        for side in (0, 1):
            part = {k: v for k, v in content.items() if bit(k, path.depth) == side}
            if part:
                then(Path.of(next(iter(part)), path.depth + 1), part)
        written[path] = branch(path)

    def build(path: Path, content: dict[bytes, bytes]) -> None:
        if len(content) == 1:
            ((key, value),) = content.items()
            written[path] = Node(value, key)
            return
        split(path, content, build)

    def change(path: Path, changed: dict[bytes, bytes]) -> None:
        existing = cache.get(path)
        if not _is_branch(existing):
            content = {} if existing is None else {existing.leaf_key or b"": existing.hash}
            build(path, {**content, **changed})
            return
        split(path, changed, change)

    change(Path(0, b""), dict(heads))
    store.save(written)
    return written[Path(0, b"")].hash


def _is_branch(node: Node | None) -> bool:
    return node is not None and node.leaf_key is None


def prove(store: NodeStore, key: bytes) -> list[bytes]:
    """The siblings from the root down to ``key``'s leaf; raises if the map has no such key."""
    siblings: list[bytes] = []
    depth = 0
    while True:
        path = Path.of(key, depth)
        node = store.load([path]).get(path)
        if node is None:
            raise InvalidHeadProof(f"the heads map holds no item with key {key.hex()[:16]}")
        if node.leaf_key is not None:
            if node.leaf_key != key:
                raise InvalidHeadProof(f"the heads map holds no item with key {key.hex()[:16]}")
            return siblings
        other = path.sibling_of_child(key)
        found = store.load([other]).get(other)
        siblings.append(EMPTY if found is None else found.hash)
        depth += 1


def verify(
    root_hash: bytes, key: bytes, index: int, leaf: bytes, siblings: Sequence[bytes]
) -> None:
    """Raise :class:`InvalidHeadProof` unless the map ``root_hash`` says key's head is
    (``index``, ``leaf``)."""
    if len(siblings) > 256 or any(len(s) != 32 for s in siblings):
        raise InvalidHeadProof("a head proof is at most 256 hashes of 32 bytes")
    if siblings and siblings[-1] == EMPTY:
        raise InvalidHeadProof("a head proof's last sibling is never empty (not canonical)")
    acc = head_hash(key, index, leaf)
    for depth in range(len(siblings) - 1, -1, -1):
        sibling = siblings[depth]
        acc = branch_hash(acc, sibling) if bit(key, depth) == 0 else branch_hash(sibling, acc)
    if acc != root_hash:
        raise InvalidHeadProof("the head proof does not lead to the committed heads root")
