"""The item-heads map: batched updates equal a map built from scratch; proofs hold and bind."""

from __future__ import annotations

import hashlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custody.ledger import heads, merkle
from custody.ledger.heads import EMPTY, InvalidHeadProof, MemoryNodes, branch_hash, head_hash


def _reference(content: dict[bytes, bytes], depth: int = 0) -> bytes:
    """The map's root by its definition, recursively, from all of its keys."""
    if not content:
        return EMPTY
    if len(content) == 1:
        return next(iter(content.values()))
    left = {k: v for k, v in content.items() if heads.bit(k, depth) == 0}
    right = {k: v for k, v in content.items() if heads.bit(k, depth) == 1}
    return branch_hash(_reference(left, depth + 1), _reference(right, depth + 1))


def _key(n: int) -> bytes:
    return heads.item_key(f"item-{n}")


def _leaf(n: int, version: int) -> tuple[int, bytes]:
    return version, hashlib.sha256(f"{n}/{version}".encode()).digest()


batches = st.lists(
    st.dictionaries(st.integers(0, 60), st.integers(0, 5), min_size=1, max_size=25),
    min_size=1,
    max_size=6,
)


@settings(max_examples=150, deadline=None)
@given(batches)
def test_batched_updates_equal_the_map_built_from_scratch(updates: list[dict[int, int]]) -> None:
    store, content, values = MemoryNodes(), {}, {}
    for batch in updates:
        changes = {}
        for n, version in batch.items():
            index, leaf = _leaf(n, version)
            changes[_key(n)] = head_hash(_key(n), index, leaf)
            values[_key(n)] = (index, leaf)
        content.update(changes)
        assert heads.update(store, changes) == _reference(content)
    root = heads.root(store)
    for key, (index, leaf) in values.items():
        proof = heads.prove(store, key)
        heads.verify(root, key, index, leaf, proof)
        with pytest.raises(InvalidHeadProof):  # an older head, or another leaf, does not verify
            heads.verify(root, key, index + 1, leaf, proof)
        with pytest.raises(InvalidHeadProof):
            heads.verify(root, key, index, bytes(32), proof)


def test_a_proof_binds_one_key_and_must_be_canonical() -> None:
    store = MemoryNodes()
    a, b = _key(1), _key(2)
    heads.update(store, {a: head_hash(a, 5, EMPTY), b: head_hash(b, 7, EMPTY)})
    root = heads.root(store)
    proof = heads.prove(store, a)
    heads.verify(root, a, 5, EMPTY, proof)
    with pytest.raises(InvalidHeadProof):  # b's head is not a's
        heads.verify(root, b, 5, EMPTY, proof)
    with pytest.raises(InvalidHeadProof, match="not canonical"):  # one level too deep
        heads.verify(root, a, 5, EMPTY, [*proof, EMPTY])
    with pytest.raises(InvalidHeadProof, match="no item"):
        heads.prove(store, _key(3))
    single = MemoryNodes()
    heads.update(single, {a: head_hash(a, 0, EMPTY)})
    assert heads.prove(single, a) == []  # one item: the root is its leaf
    assert heads.root(single) == head_hash(a, 0, EMPTY)


def test_map_hashes_cannot_pass_for_log_hashes() -> None:
    """Domain separation from RFC 9162 (0x00 leaves, 0x01 nodes)."""
    key, leaf = _key(1), hashlib.sha256(b"x").digest()
    assert head_hash(key, 7, leaf) != merkle.leaf_hash(key + struct.pack(">Q", 7) + leaf)
    assert branch_hash(key, leaf) != merkle.node_hash(key, leaf)
