"""RFC 9162 §2.1 Merkle tree math over stored complete subtrees.

A tree is never held in full: every hash the algorithms need is the hash of a
*complete* subtree ``(level, index)`` covering leaves
``[index·2^level, (index+1)·2^level)``, fetched in one batch from a
:class:`HashSource` (memory in tests, the database in production). Proof
generation touches O(log n) such hashes and never rereads leaves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from custody.errors import IntegrityError, InvalidInput

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()  # RFC 9162 §2.1.1: MTH({}) = HASH()

NodeKey = tuple[int, int]  # (level, index)


class InvalidProof(IntegrityError):
    """An inclusion or consistency proof does not prove what it claims."""


class HashSource(Protocol):
    """Hashes of complete subtrees, answered in one batch."""

    def nodes(self, keys: Sequence[NodeKey]) -> list[bytes]: ...


def leaf_hash(entry: bytes) -> bytes:
    """RFC 9162 §2.1.1: MTH({d}) = HASH(0x00 || d)."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 §2.1.1: HASH(0x01 || MTH(left) || MTH(right))."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1), RFC 9162 §2.1.1."""
    return 1 << ((n - 1).bit_length() - 1)


def _range_keys(lo: int, hi: int) -> list[NodeKey]:
    """The complete subtrees that make up MTH(D[lo:hi]), left to right."""
    keys: list[NodeKey] = []
    while lo < hi:
        level = (hi - lo).bit_length() - 1
        while lo % (1 << level):
            level -= 1
        keys.append((level, lo >> level))
        lo += 1 << level
    return keys


def _fold(hashes: Sequence[bytes]) -> bytes:
    """Fold a range's complete subtrees right to left into its MTH."""
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def _resolve(source: HashSource, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
    """MTH of each range, with one batched fetch for all of them."""
    per_range = [_range_keys(lo, hi) for lo, hi in ranges]
    flat = [k for keys in per_range for k in keys]
    fetched = dict(zip(flat, source.nodes(flat), strict=True)) if flat else {}
    return [_fold([fetched[k] for k in keys]) for keys in per_range]


def root(source: HashSource, size: int) -> bytes:
    """The root hash of the tree of ``size`` leaves."""
    if size < 0:
        raise InvalidInput("a tree size is not negative")
    if size == 0:
        return EMPTY_ROOT
    return _resolve(source, [(0, size)])[0]


def _path_ranges(m: int, lo: int, hi: int) -> list[tuple[int, int]]:
    # RFC 9162 §2.1.3.1 PATH(m, D[lo:hi]), as the ranges whose MTH are the proof.
    out: list[tuple[int, int]] = []
    while hi - lo > 1:
        k = _split(hi - lo)
        if m < k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo, m = lo + k, m - k
    out.reverse()
    return out


def inclusion_proof(source: HashSource, index: int, size: int) -> list[bytes]:
    """RFC 9162 §2.1.3.1 inclusion proof of leaf ``index`` in the tree of ``size``."""
    if not 0 <= index < size:
        raise InvalidInput(f"leaf {index} is not in a tree of size {size}")
    return _resolve(source, _path_ranges(index, 0, size))


def consistency_proof(source: HashSource, old: int, new: int) -> list[bytes]:
    """RFC 9162 §2.1.4.1 consistency proof from size ``old`` to size ``new``."""
    if not 0 <= old <= new:
        raise InvalidInput(f"no consistency proof from size {old} to size {new}")
    if old in (0, new):
        return []
    ranges: list[tuple[int, int]] = []
    lo, hi, m, whole = 0, new, old, True
    # SUBPROOF(m, D[lo:hi], b), unrolled; siblings are collected leaf-side first.
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo, m, whole = lo + k, m - k, False
    if not whole:
        ranges.append((lo, hi))
    ranges.reverse()
    return _resolve(source, ranges)


def _check_hashes(
    first: tuple[str, bytes], second: tuple[str, bytes], proof: Sequence[bytes]
) -> None:
    named = [first, second, *((f"proof hash {i}", p) for i, p in enumerate(proof))]
    for what, value in named:
        if len(value) != HASH_SIZE:
            raise InvalidProof(f"{what} is {len(value)} bytes, not a {HASH_SIZE}-byte hash")


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root_hash: bytes
) -> None:
    """Raise :class:`InvalidProof` unless ``proof`` puts ``leaf`` at ``index`` under a root."""
    _check_hashes(("the leaf hash", leaf), ("the root hash", root_hash), proof)
    # RFC 9162 §2.1.3.2 steps 1-6.
    if not 0 <= index < size:
        raise InvalidProof(f"leaf index {index} is outside a tree of size {size}")
    r = leaf
    for p, left in _climb(index, size - 1, proof, "inclusion", len(proof)):
        r = node_hash(p, r) if left else node_hash(r, p)
    if r != root_hash:
        raise InvalidProof(f"inclusion proof of leaf {index} does not lead to the root hash")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Raise :class:`InvalidProof` unless the tree ``old_root`` is a prefix of ``new_root``."""
    # RFC 9162 §2.1.4.2 steps 1-8.
    if not 0 <= old_size <= new_size:
        raise InvalidProof(f"old size {old_size} is larger than new size {new_size}")
    if old_size == 0:  # as transparency-dev/merkle: every tree extends the empty one
        raise InvalidProof("a consistency proof from the empty tree proves nothing; skip it")
    if old_size == new_size:  # the same tree: only the roots are compared
        if proof:
            raise InvalidProof("equal sizes need an empty consistency proof")
        if old_root != new_root:
            raise InvalidProof(f"two different root hashes for the same size {old_size}")
        return
    _check_hashes(("the old root hash", old_root), ("the new root hash", new_root), proof)
    if not proof:
        raise InvalidProof("consistency proof is empty")
    fr, sr = _consistency_roots(old_size, new_size, old_root, proof)
    if fr != old_root:
        raise InvalidProof(f"consistency proof does not lead to the old root (size {old_size})")
    if sr != new_root:
        raise InvalidProof(f"consistency proof does not lead to the new root (size {new_size})")


def _consistency_roots(
    old_size: int, new_size: int, old_root: bytes, proof: Sequence[bytes]
) -> tuple[bytes, bytes]:
    # RFC 9162 §2.1.4.2 steps 2-8: recompute both roots from the proof.
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c, left in _climb(fn, sn, path[1:], "consistency", len(proof)):
        if left:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
        else:
            sr = node_hash(sr, c)
    return fr, sr


def _climb(
    fn: int, sn: int, hashes: Sequence[bytes], what: str, count: int
) -> Iterator[tuple[bytes, bool]]:
    """RFC 9162's walk up from node ``fn`` of a tree whose last node is ``sn``, shared by both
    proofs: each of ``hashes`` with whether it joins on the left. A path that runs out before
    the hashes do, or after, is a bad ``what`` proof of ``count`` hashes."""
    for h in hashes:
        if sn == 0:
            raise InvalidProof(f"{what} proof has too many hashes ({count})")
        left = bool(fn & 1 or fn == sn)
        yield h, left
        if left:
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise InvalidProof(f"{what} proof has too few hashes ({count})")


def nodes_to_store_on_append(
    index: int, leaf: bytes, get_node: Callable[[int, int], bytes]
) -> list[tuple[int, int, bytes]]:
    """The complete subtrees that appending leaf ``index`` completes (O(log n))."""
    out = [(0, index, leaf)]
    h, level, i = leaf, 0, index
    while i & 1:  # a right child completes its parent
        h = node_hash(get_node(level, i - 1), h)
        i, level = i >> 1, level + 1
        out.append((level, i, h))
    return out


def frontier_keys(size: int) -> list[NodeKey]:
    """The complete subtrees a tree of ``size`` is made of, largest first."""
    return _range_keys(0, size)


class MemoryTree:
    """A whole tree in memory: a :class:`HashSource` for tests and benchmarks."""

    def __init__(self) -> None:
        self._levels: list[list[bytes]] = [[]]

    @property
    def size(self) -> int:
        return len(self._levels[0])

    def append(self, entry: bytes) -> int:
        """Append an entry; its index."""
        return self.append_leaf_hash(leaf_hash(entry))

    def append_leaf_hash(self, leaf: bytes) -> int:
        index = self.size
        for level, i, h in nodes_to_store_on_append(index, leaf, self._get):
            if level == len(self._levels):
                self._levels.append([])
            assert len(self._levels[level]) == i  # noqa: S101 - MemoryTree invariant, tests only  # nosec B101
            self._levels[level].append(h)
        return index

    def _get(self, level: int, index: int) -> bytes:
        return self._levels[level][index]

    def nodes(self, keys: Sequence[NodeKey]) -> list[bytes]:
        try:
            return [self._levels[level][index] for level, index in keys]
        except IndexError as exc:
            raise InvalidInput(f"no complete subtree among {list(keys)}") from exc

    def root(self, size: int | None = None) -> bytes:
        return root(self, self.size if size is None else size)
