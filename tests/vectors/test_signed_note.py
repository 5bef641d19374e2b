"""Go's signed-note vector byte for byte; mangled keys and notes are refused."""

from __future__ import annotations

import base64
import hashlib
import json
import os

import pytest

from custody.errors import CustodyError, IntegrityError, InvalidInput
from custody.ledger import note
from support.paths import VECTORS_DIR

VECTOR_FILE = VECTORS_DIR / "signed-note" / "peterneumann.json"


@pytest.fixture(scope="module")
def vector() -> dict[str, str]:
    if not VECTOR_FILE.is_file():
        if os.environ.get("CUSTODY_ALLOW_MISSING_VECTORS") == "1":
            pytest.skip("CUSTODY_ALLOW_MISSING_VECTORS=1")
        pytest.fail(f"signed-note vector not found at {VECTOR_FILE} (set CUSTODY_VECTORS_DIR)")
    data: dict[str, str] = json.loads(VECTOR_FILE.read_text())
    return data


def test_signing_reproduces_go_byte_for_byte(vector: dict[str, str]) -> None:
    signer = note.Signer.from_skey(vector["skey_go_format"])
    assert note.sign(vector["text"], [signer]) == vector["signed_note"].encode()
    assert signer.verifier.vkey == vector["vkey"]
    assert signer.to_skey() == vector["skey_go_format"]


def test_vkey_parses_and_opens_the_note(vector: dict[str, str]) -> None:
    verifier = note.Verifier.from_vkey(vector["vkey"])
    assert (verifier.name, f"{verifier.key_id:08x}") == ("PeterNeumann", "c74f20a3")
    opened = note.open(vector["signed_note"].encode(), [verifier])
    assert opened.text == vector["text"]
    assert [s.name for s in opened.signatures] == ["PeterNeumann"]


def _mangle_key(vkey: str, how: str) -> str:
    name, hash_hex, b64 = vkey.split("+", 2)
    if how == "hash":
        return f"{name}+{int(hash_hex, 16) ^ 1:08x}+{b64}"
    if how == "base64":
        return f"{name}+{hash_hex}+{b64[:-3]}!=="
    if how == "algorithm":  # a well-formed key of algorithm 0x02, with its correct hash
        raw = b"\x02" + base64.b64decode(b64)[1:]
        digest = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4].hex()
        return f"{name}+{digest}+{base64.b64encode(raw).decode()}"
    return f"Peter+Neumann+{hash_hex}+{b64}"


EXPECTED = {"hash": "hash", "base64": "base64", "algorithm": "algorithm", "plus-in-name": "name"}


@pytest.mark.parametrize("how", ["hash", "base64", "algorithm", "plus-in-name"])
def test_mangled_keys_are_refused(vector: dict[str, str], how: str) -> None:
    with pytest.raises(InvalidInput, match=EXPECTED[how]):
        note.Verifier.from_vkey(_mangle_key(vector["vkey"], how))


def test_mangled_signer_key_is_refused(vector: dict[str, str]) -> None:
    skey = vector["skey_go_format"]
    with pytest.raises(InvalidInput, match="hash"):
        note.Signer.from_skey(skey.replace("c74f20a3", "c74f20a4"))
    with pytest.raises(InvalidInput):
        note.Signer.from_skey(skey.removeprefix("PRIVATE+"))


@pytest.mark.parametrize(
    "mangle",
    [
        lambda n: n.replace("cryptography", "cryptograph!"),
        lambda n: n.replace("x08go", "x08gp"),
        lambda n: n[:-1],
        lambda n: n.replace("\n\n", "\n"),
        lambda n: n.replace("PeterNeumann x08", "Someone x08"),
        lambda n: n.replace("\u2014", "-"),
        lambda n: n.replace("problem,", "problem,\t"),
    ],
    ids=[
        "text",
        "signature",
        "no-final-newline",
        "no-blank-line",
        "unknown-key-only",
        "not-em-dash",
        "control-char",
    ],
)
def test_mangled_notes_are_refused(vector: dict[str, str], mangle: object) -> None:
    verifier = note.Verifier.from_vkey(vector["vkey"])
    bad = mangle(vector["signed_note"])  # type: ignore[operator]
    with pytest.raises(IntegrityError):
        note.open(bad.encode(), [verifier])


def test_unknown_signatures_are_ignored_when_a_known_one_verifies(vector: dict[str, str]) -> None:
    extra = "\u2014 Witness AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
    opened = note.open(
        (vector["signed_note"] + extra).encode(), [note.Verifier.from_vkey(vector["vkey"])]
    )
    assert [s.name for s in opened.unverified] == ["Witness"]
    with pytest.raises(CustodyError):
        note.sign("no newline", [note.Signer.from_skey(vector["skey_go_format"])])
