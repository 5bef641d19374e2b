"""Verification of *subtree* inclusion and consistency proofs.

A subtree ``[start, end)`` is a run of leaves whose ``start`` is a multiple of
the smallest power of two ≥ ``end - start`` (Merkle Tree Certificates,
draft-ietf-plants-merkle-tree-certs §4.1). These proofs let a verifier tie a
subtree hash to a log checkpoint. Custody does not produce them yet; this
module exists so the transparency-dev ``subtreeinclusion`` and
``subtreeconsistency`` vectors can be checked, and a future witness or
certificate flow has a verified base. Algorithms follow
``transparency-dev/merkle/proof/verify.go``.
"""

from __future__ import annotations

from collections.abc import Sequence

from custody.ledger.merkle import EMPTY_ROOT, HASH_SIZE, InvalidProof, node_hash, verify_inclusion


def _check_subtree(start: int, end: int) -> None:
    if not 0 <= start < end:
        raise InvalidProof(f"[{start}, {end}) is not a non-empty range")
    width = end - start
    bit_ceil = 1 << (width - 1).bit_length()
    if start % bit_ceil:
        raise InvalidProof(f"[{start}, {end}) is not a subtree: start is not aligned")


def _root_from_inclusion(index: int, size: int, seed: bytes, proof: Sequence[bytes]) -> bytes:
    # The inner part of the path lies below the fork from leaf size-1; the
    # border part only has left siblings (RFC 9162 §2.1.3.2, decomposed).
    inner = (index ^ (size - 1)).bit_length()
    border = bin(index >> inner).count("1")
    if len(proof) != inner + border:
        raise InvalidProof(f"wrong proof size {len(proof)}, want {inner + border}")
    for i, h in enumerate(proof[:inner]):
        seed = node_hash(h, seed) if (index >> i) & 1 else node_hash(seed, h)
    for h in proof[inner:]:
        seed = node_hash(h, seed)
    return seed


def _check_hashes(values: Sequence[bytes]) -> None:
    for v in values:
        if len(v) != HASH_SIZE:
            raise InvalidProof(f"a hash is {len(v)} bytes, not {HASH_SIZE}")


def verify_subtree_inclusion(
    index: int, start: int, end: int, *, leaf: bytes, proof: Sequence[bytes], subtree_root: bytes
) -> None:
    """Raise :class:`InvalidProof` unless ``leaf`` is at ``index`` in subtree ``[start, end)``."""
    _check_subtree(start, end)
    if not start <= index < end:
        raise InvalidProof(f"index {index} is outside the subtree [{start}, {end})")
    verify_inclusion(leaf, index - start, end - start, proof, subtree_root)


def verify_subtree_consistency(
    start: int, end: int, size: int, *, proof: Sequence[bytes], subtree_root: bytes, root: bytes
) -> None:
    """Raise :class:`InvalidProof` unless subtree ``[start, end)`` is part of the tree ``root``."""
    if start == end:  # the empty subtree is part of every tree; only its hash is checked
        if proof or subtree_root != EMPTY_ROOT or end > size:
            raise InvalidProof("an empty subtree has the empty hash and an empty proof")
        return
    _check_subtree(start, end)
    if size < end:
        raise InvalidProof(f"tree size {size} is smaller than the subtree end {end}")
    if start == 0 and end == size:  # the same tree: only the roots are compared
        if proof:
            raise InvalidProof("the subtree is the whole tree: the proof must be empty")
        computed = subtree_root
    elif not proof:
        raise InvalidProof("consistency proof is empty")
    elif end == size:
        _check_hashes([subtree_root, *proof])
        level = ((end - 1) ^ start).bit_length()
        want = bin(start >> level).count("1")
        if len(proof) != want:
            raise InvalidProof(f"wrong proof size {len(proof)}, want {want}")
        computed = subtree_root
        for h in proof:
            computed = node_hash(h, computed)
    else:
        _check_hashes([subtree_root, *proof])
        computed = _grow(start, end, size, proof, subtree_root)
    if computed != root:
        raise InvalidProof("subtree consistency proof does not lead to the root hash")


def _grow(start: int, end: int, size: int, proof: Sequence[bytes], subtree_root: bytes) -> bytes:
    fork = ((end - 1) ^ (size - 1)).bit_length()
    width = end - start
    shift = (width & -width).bit_length() - 1  # trailing zeros
    seed, first = proof[0], 1
    if width == 1 << shift:  # a full subtree: its root is not repeated in the proof
        seed, first = subtree_root, 0
    want = first + (fork - shift) + bin((end - 1) >> fork).count("1")
    if len(proof) != want:
        raise InvalidProof(f"wrong proof size {len(proof)}, want {want}")
    rest = list(proof[first:])
    height = ((end - 1) ^ start).bit_length()
    sub, grown, i = seed, seed, 0
    for lvl in range(shift, height):
        if ((end - 1) >> lvl) & 1:
            sub, grown = node_hash(rest[i], sub), node_hash(rest[i], grown)
            i += 1
        elif lvl < fork:
            grown = node_hash(grown, rest[i])
            i += 1
    if sub != subtree_root:
        raise InvalidProof("subtree consistency proof does not lead to the subtree hash")
    s_index = start >> height
    s_size = ((size - 1) >> height) + 1
    if s_index >= s_size:
        raise InvalidProof("subtree lies outside the tree")
    return _root_from_inclusion(s_index, s_size, grown, rest[i:])
