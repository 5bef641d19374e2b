"""Evidence bundles: the happy path, and one-byte tampering anywhere is named."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime

import pytest

from custody.bundle import build_bundle, verify_bundle
from custody.bundle.items import MANIFEST_CONTEXT
from custody.crypto.signing import SigningKey
from custody.errors import IntegrityError
from custody.ledger import note
from custody.ledger.checkpoint import Checkpoint, sign_checkpoint
from custody.ledger.entry import Entry, PrevRef
from custody.ledger.merkle import MemoryTree, inclusion_proof, leaf_hash

ORIGIN = "custody.example/ledger"
LOG = note.Signer(ORIGIN, SigningKey(bytes(range(32))))
SENDER = "0b7c8a3e-4b7f-4c59-9d59-2b0d3c4e5f60"
SENDER_KEY = SigningKey(bytes(range(1, 33)))
CONTENT = b"interview recording bytes"
T = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _signed_manifest() -> tuple[bytes, bytes]:
    body = json.dumps({"sender": SENDER, "sha256": hashlib.sha256(CONTENT).hexdigest()}).encode()
    sig = SENDER_KEY.sign(MANIFEST_CONTEXT + body)
    envelope = json.dumps(
        {"manifest": base64.b64encode(body).decode(), "signature": base64.b64encode(sig).decode()}
    ).encode()
    return body, envelope


def _bundle() -> bytes:
    body, envelope = _signed_manifest()
    key_b64 = SENDER_KEY.public_key.to_b64()
    tree, entries, last = MemoryTree(), [], None
    events = [
        Entry("key:registered", T, SENDER, data={"signing_key": key_b64}),
        Entry(
            "item:sealed",
            T,
            SENDER,
            case="c1",
            item="i1",
            data={"manifest_sha256": hashlib.sha256(body).hexdigest()},
        ),
        Entry("transfer:sent", T, SENDER, case="c1", transfer="t1", item="i1"),
        Entry("item:accessed", T, "system", item="other"),
        Entry("transfer:received", T, "system", case="c1", transfer="t1", item="i1"),
    ]
    for plain in events:
        event = plain.with_prev(last) if plain.item == "i1" else plain
        raw = event.to_bytes()
        index = tree.append(raw)
        if event.item == "i1":
            last = PrevRef(index, leaf_hash(raw).hex())
        if event.item != "other":
            entries.append((index, raw))
    signed = sign_checkpoint(Checkpoint(ORIGIN, tree.size, tree.root()), LOG)
    rows = [(i, raw, inclusion_proof(tree, i, tree.size)) for i, raw in entries]
    item = {
        "item": "i1",
        "signed_manifest": base64.b64encode(envelope).decode(),
        "signing_key": key_b64,
    }
    return build_bundle(ORIGIN, signed, rows, [item])


BUNDLE = _bundle()


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
        (4, "transfer:received"),
    ]
    assert report.content_item == "i1"
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
    with pytest.raises(IntegrityError, match="entry 4: the trail of item i1 is broken"):
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
