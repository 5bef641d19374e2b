"""Every transparency-dev Merkle vector gives its expected result through custody.ledger.

Layout (``VECTORS_DIR/merkle``): ``inclusion/`` and ``consistency/`` hold RFC
9162 proofs; ``subtreeinclusion/`` and ``subtreeconsistency/`` hold the
Merkle-Tree-Certificates subtree proofs of transparency-dev/merkle. Each JSON
file says ``wantErr``; one pytest case per file.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest

from custody.ledger.merkle import InvalidProof, verify_consistency, verify_inclusion
from custody.ledger.subtree import verify_subtree_consistency, verify_subtree_inclusion
from support.paths import VECTORS_DIR

MERKLE_DIR = VECTORS_DIR / "merkle"
KINDS = ("inclusion", "consistency", "subtreeinclusion", "subtreeconsistency")


def _files() -> list[Path]:
    if not MERKLE_DIR.is_dir():
        return []
    return sorted(p for kind in KINDS for p in (MERKLE_DIR / kind).rglob("*.json"))


def _b64(value: str) -> bytes:
    return base64.b64decode(value)


def _proof(v: dict[str, Any]) -> list[bytes]:
    return [_b64(p) for p in v["proof"] or []]


def _check(kind: str, v: dict[str, Any]) -> None:
    if kind == "inclusion":
        verify_inclusion(
            _b64(v["leafHash"]), v["leafIdx"], v["treeSize"], _proof(v), _b64(v["root"])
        )
    elif kind == "consistency":
        verify_consistency(v["size1"], v["size2"], _b64(v["root1"]), _b64(v["root2"]), _proof(v))
    elif kind == "subtreeinclusion":
        verify_subtree_inclusion(
            v["leafIdx"],
            v["start"],
            v["end"],
            leaf=_b64(v["leafHash"]),
            proof=_proof(v),
            subtree_root=_b64(v["root"]),
        )
    else:
        verify_subtree_consistency(
            v["start"],
            v["end"],
            v["size"],
            proof=_proof(v),
            subtree_root=_b64(v["root1"]),
            root=_b64(v["root2"]),
        )


def test_vectors_are_present() -> None:
    if os.environ.get("CUSTODY_ALLOW_MISSING_VECTORS") == "1":
        pytest.skip("CUSTODY_ALLOW_MISSING_VECTORS=1")
    assert MERKLE_DIR.is_dir(), f"no Merkle vectors at {MERKLE_DIR} (set CUSTODY_VECTORS_DIR)"
    counts = {k: len(list((MERKLE_DIR / k).rglob("*.json"))) for k in KINDS}
    assert all(counts.values()), f"a vector folder under {MERKLE_DIR} is empty: {counts}"


@pytest.mark.parametrize(
    "path", _files(), ids=lambda p: str(p.relative_to(MERKLE_DIR)) if isinstance(p, Path) else p
)
def test_vector(path: Path) -> None:
    kind = path.relative_to(MERKLE_DIR).parts[0]
    vector = json.loads(path.read_text())
    if vector["wantErr"]:
        with pytest.raises(InvalidProof):
            _check(kind, vector)
    else:
        _check(kind, vector)
