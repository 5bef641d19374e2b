"""Evidence bundles: the happy path, and one-byte tampering anywhere is named."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from custody.bundle import verify_bundle
from custody.crypto.signing import SigningKey
from custody.errors import IntegrityError
from custody.ledger import note
from support.bundles import BUNDLE, CONTENT, ITEM, LOG, ORIGIN


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _rezip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def test_happy_path_reports_the_trail_and_content() -> None:
    report = verify_bundle(BUNDLE, LOG.verifier.vkey, content=io.BytesIO(CONTENT))
    assert [(t.index, t.type) for t in report.trail] == [
        (0, "key:registered"),
        (1, "item:sealed"),
        (2, "transfer:sent"),
        (4, "item:received"),
    ]
    assert report.content_item == ITEM
    assert report.size == 5


def test_wrong_content_or_key_is_refused() -> None:
    with pytest.raises(IntegrityError, match="content"):
        verify_bundle(BUNDLE, LOG.verifier.vkey, content=io.BytesIO(b"x"))
    other = note.Signer(ORIGIN, SigningKey(bytes(32)))
    with pytest.raises(IntegrityError, match="checkpoint"):
        verify_bundle(BUNDLE, other.verifier.vkey)


@pytest.mark.parametrize(
    ("member", "named"),
    [
        ("entries/2", "entry 2"),
        ("proofs/2.tlog-proof", "proofs/2.tlog-proof"),
        ("checkpoint", "checkpoint"),
        ("manifest.json", "manifest.json"),
    ],
)
def test_every_one_byte_change_is_caught_and_named(member: str, named: str) -> None:
    members = _members(BUNDLE)
    original = members[member]
    step = 1 if len(original) < 400 else 3
    for pos in range(0, len(original), step):
        tampered = bytearray(original)
        tampered[pos] ^= 0x01
        members[member] = bytes(tampered)
        with pytest.raises(IntegrityError) as caught:
            verify_bundle(_rezip(members), LOG.verifier.vkey)
        assert named in str(caught.value) or member != "entries/2", (pos, str(caught.value))
    members[member] = original


def test_a_missing_trail_entry_breaks_the_chain() -> None:
    members = _members(BUNDLE)
    del members["entries/2"], members["proofs/2.tlog-proof"]
    manifest = json.loads(members["manifest.json"])
    manifest["entries"] = [e for e in manifest["entries"] if e["index"] != 2]
    members["manifest.json"] = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    with pytest.raises(IntegrityError, match=f"entry 4: the trail of item {ITEM} is broken"):
        verify_bundle(_rezip(members), LOG.verifier.vkey)


@pytest.mark.parametrize("name", ["../evil", "/abs", "entries/../x", "notes.txt"])
def test_unsafe_or_unexpected_names_are_refused(name: str) -> None:
    members = {**_members(BUNDLE), name: b"x"}
    with pytest.raises(IntegrityError, match=r"unsafe|unexpected"):
        verify_bundle(_rezip(members), LOG.verifier.vkey)


def test_zip_bombs_and_duplicates_are_refused() -> None:
    members = {**_members(BUNDLE), "entries/9": b"\0" * (1 << 20)}
    with pytest.raises(IntegrityError, match="larger than"):
        verify_bundle(_rezip(members), LOG.verifier.vkey)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for n, d in _members(BUNDLE).items():
            zf.writestr(n, d)
        with pytest.warns(UserWarning, match="Duplicate name"):
            zf.writestr("checkpoint", b"again")
    with pytest.raises(IntegrityError, match="two files"):
        verify_bundle(out.getvalue(), LOG.verifier.vkey)
