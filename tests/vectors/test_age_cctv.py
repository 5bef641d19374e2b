"""Every file of the age conformance suite (C2SP CCTV, age/testdata) gives its ``expect``.

The folder is ``/work/shared/vectors/age-cctv`` next to the repository, or
``$CUSTODY_VECTORS_DIR/age-cctv``. A missing folder fails the run: a
conformance suite that silently runs zero cases proves nothing.

Each vector runs through the public path: X25519 and hybrid identities via
:func:`decrypt_stream` (binary) and :func:`decrypt` (binary or armored);
passphrases via :func:`decrypt_with_passphrase`. ``success`` must give the
payload whose SHA-256 the vector names; every failure kind must raise
:class:`DecryptionFailed`, and what ``decrypt_stream`` released before a
payload failure must also match the named hash (README, "payload").
"""

from __future__ import annotations

import hashlib
import io
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from custody.crypto.age import (
    DecryptionFailed,
    HybridIdentity,
    Identity,
    decrypt,
    decrypt_stream,
    decrypt_with_passphrase,
)
from support.paths import VECTORS_DIR

CCTV_DIR = VECTORS_DIR / "age-cctv"
_NOT_VECTORS = {"README.md", "LICENSE"}


@dataclass
class Vector:
    expect: str
    body: bytes
    payload_sha256: str | None = None
    identities: list[str] = field(default_factory=list)
    passphrases: list[str] = field(default_factory=list)
    armored: bool = False


def _load(path: Path) -> Vector:
    raw = path.read_bytes()
    head, _, body = raw.partition(b"\n\n")
    fields: dict[str, list[str]] = {}
    for line in head.decode("utf-8").split("\n"):
        key, _, value = line.partition(": ")
        fields.setdefault(key, []).append(value)
    if fields.get("compressed") == ["zlib"]:
        body = zlib.decompress(body)
    return Vector(
        expect=fields["expect"][0],
        body=body,
        payload_sha256=fields.get("payload", [None])[0],
        identities=fields.get("identity", []),
        passphrases=fields.get("passphrase", []),
        armored=fields.get("armored") == ["yes"],
    )


def _vector_files() -> list[Path]:
    if not CCTV_DIR.is_dir():
        return []
    return sorted(p for p in CCTV_DIR.iterdir() if p.is_file() and p.name not in _NOT_VECTORS)


def test_vectors_are_present() -> None:
    assert CCTV_DIR.is_dir(), (
        f"age CCTV vectors not found: looked in {CCTV_DIR} (set CUSTODY_VECTORS_DIR)"
    )
    assert len(_vector_files()) > 100, f"too few age vectors in {CCTV_DIR}"


def _identities(texts: list[str]) -> list[Identity | HybridIdentity]:
    return [
        HybridIdentity.parse(t) if t.startswith("AGE-SECRET-KEY-PQ-") else Identity.parse(t)
        for t in texts
    ]


def _with_passphrases(vector: Vector) -> list[bytes | None]:
    """One outcome per passphrase: the plaintext, or None if it raised DecryptionFailed."""
    outcomes: list[bytes | None] = []
    for passphrase in vector.passphrases:
        try:
            outcomes.append(decrypt_with_passphrase(vector.body, passphrase))
        except DecryptionFailed:
            outcomes.append(None)
    return outcomes


@pytest.mark.parametrize("path", _vector_files(), ids=lambda p: p.name)
def test_vector(path: Path) -> None:
    vector = _load(path)
    if vector.passphrases:
        digests = [
            None if o is None else hashlib.sha256(o).hexdigest() for o in _with_passphrases(vector)
        ]
        if vector.expect == "success":
            assert vector.payload_sha256 in digests
        else:
            assert digests == [None] * len(digests)
    if not vector.identities:
        return
    # The vector's identities are tried together, as `age -d -i a -i b` would.
    identities = _identities(vector.identities)
    if vector.expect == "success" and vector.passphrases:
        return  # the passphrase opened it; a stanza for the identities need not exist
    if vector.expect == "success":
        assert hashlib.sha256(decrypt(vector.body, identities)).hexdigest() == vector.payload_sha256
    else:
        with pytest.raises(DecryptionFailed):
            decrypt(vector.body, identities)
    if vector.armored:
        return  # decrypt_stream reads binary age files only

    released = io.BytesIO()
    seen = hashlib.sha256()
    if vector.expect == "success":
        size = decrypt_stream(
            io.BytesIO(vector.body), released, identities, on_plaintext=seen.update
        )
        assert size == len(released.getvalue())
    else:
        with pytest.raises(DecryptionFailed):
            decrypt_stream(io.BytesIO(vector.body), released, identities, on_plaintext=seen.update)
    if vector.payload_sha256 is not None:
        assert hashlib.sha256(released.getvalue()).hexdigest() == vector.payload_sha256
        assert seen.hexdigest() == vector.payload_sha256
