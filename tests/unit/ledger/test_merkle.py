"""Inclusion and consistency proofs against MemoryTree, including the size edges."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custody.ledger import merkle
from custody.ledger.merkle import InvalidProof, MemoryTree

EDGE_SIZES = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 255, 256, 257]


def _tree(size: int) -> MemoryTree:
    tree = MemoryTree()
    for i in range(size):
        tree.append(f"entry {i}".encode())
    return tree


def _reference_root(entries: list[bytes]) -> bytes:
    # RFC 9162 §2.1.1, written recursively as the spec states it.
    if not entries:
        return hashlib.sha256(b"").digest()
    if len(entries) == 1:
        return merkle.leaf_hash(entries[0])
    k = 1 << ((len(entries) - 1).bit_length() - 1)
    return merkle.node_hash(_reference_root(entries[:k]), _reference_root(entries[k:]))


BIG = _tree(600)
sizes = st.one_of(st.sampled_from(EDGE_SIZES), st.integers(1, 600))


@pytest.mark.parametrize("size", [0, *EDGE_SIZES])
def test_root_matches_the_recursive_definition(size: int) -> None:
    assert BIG.root(size) == _reference_root([f"entry {i}".encode() for i in range(size)])


def test_spec_example_seven_leaves() -> None:
    # c2sp.org/merkle-tree §Example: d[0] proof is [b, i, l]; 3 -> 7 is [c, d, h, l].
    t = _tree(7)
    a, b, c, d, e, f, g = (merkle.leaf_hash(f"entry {i}".encode()) for i in range(7))
    h, i, j = merkle.node_hash(a, b), merkle.node_hash(c, d), merkle.node_hash(e, f)
    ell = merkle.node_hash(j, g)
    assert merkle.inclusion_proof(t, 0, 7) == [b, i, ell]
    assert merkle.consistency_proof(t, 3, 7) == [c, d, h, ell]
    assert merkle.consistency_proof(t, 6, 7) == [j, g, merkle.node_hash(h, i)]


@settings(max_examples=300)
@given(data=st.data(), size=sizes)
def test_inclusion_proofs_verify_and_bind_the_leaf(data: st.DataObject, size: int) -> None:
    index = data.draw(st.integers(0, size - 1))
    proof = merkle.inclusion_proof(BIG, index, size)
    leaf = merkle.leaf_hash(f"entry {index}".encode())
    merkle.verify_inclusion(leaf, index, size, proof, BIG.root(size))
    with pytest.raises(InvalidProof):
        merkle.verify_inclusion(merkle.leaf_hash(b"other"), index, size, proof, BIG.root(size))
    if size > 1:
        with pytest.raises(InvalidProof):
            merkle.verify_inclusion(leaf, (index + 1) % size, size, proof, BIG.root(size))
    if proof:
        bad = [*proof[:-1], bytes(32)]
        with pytest.raises(InvalidProof):
            merkle.verify_inclusion(leaf, index, size, bad, BIG.root(size))


@settings(max_examples=300)
@given(data=st.data(), new=sizes)
def test_consistency_proofs_verify_and_bind_both_roots(data: st.DataObject, new: int) -> None:
    old = data.draw(st.one_of(st.sampled_from([1, new]), st.integers(1, new)))
    proof = merkle.consistency_proof(BIG, old, new)
    merkle.verify_consistency(old, new, BIG.root(old), BIG.root(new), proof)
    if old < new:
        with pytest.raises(InvalidProof):
            merkle.verify_consistency(old, new, BIG.root(old), BIG.root(new - 1), proof)
        with pytest.raises(InvalidProof):
            merkle.verify_consistency(old, new, merkle.leaf_hash(b"x"), BIG.root(new), proof)


def test_proofs_touch_only_log_n_subtrees() -> None:
    class Counting(MemoryTree):
        def __init__(self) -> None:
            super().__init__()
            self.fetched = 0

        def nodes(self, keys: object) -> list[bytes]:  # type: ignore[override]
            result = super().nodes(keys)  # type: ignore[arg-type]
            self.fetched += len(result)
            return result

    tree = Counting()
    for i in range(5000):
        tree.append_leaf_hash(merkle.leaf_hash(str(i).encode()))
    tree.fetched = 0
    merkle.inclusion_proof(tree, 1234, 4999)
    merkle.consistency_proof(tree, 1234, 4999)
    assert tree.fetched <= 4 * 13  # ~2·log2(n) per proof


def test_appending_completes_log_n_nodes() -> None:
    store = {(0, i): merkle.leaf_hash(bytes([i])) for i in range(7)}
    store[(1, 2)] = merkle.node_hash(store[(0, 4)], store[(0, 5)])
    store[(1, 1)] = merkle.node_hash(store[(0, 2)], store[(0, 3)])
    store[(1, 0)] = merkle.node_hash(store[(0, 0)], store[(0, 1)])
    store[(2, 0)] = merkle.node_hash(store[(1, 0)], store[(1, 1)])
    leaf = merkle.leaf_hash(b"\x07")
    nodes = merkle.nodes_to_store_on_append(7, leaf, lambda lv, i: store[(lv, i)])
    assert [(lv, i) for lv, i, _ in nodes] == [(0, 7), (1, 3), (2, 1), (3, 0)]
    assert nodes[-1][2] == _reference_root([bytes([i]) for i in range(8)])


def test_bad_sizes_are_refused_with_a_reason() -> None:
    with pytest.raises(InvalidProof, match="outside"):
        merkle.verify_inclusion(bytes(32), 5, 5, [], bytes(32))
    with pytest.raises(InvalidProof, match="larger"):
        merkle.verify_consistency(5, 4, bytes(32), bytes(32), [])
    with pytest.raises(InvalidProof, match="32-byte"):
        merkle.verify_inclusion(b"short", 0, 1, [], bytes(32))
