"""The zip limits admit every bundle custody makes, and refuse the first byte past them."""

from __future__ import annotations

import base64
import io
import json
import zipfile

import pytest

from custody.bundle.archive import (
    MANIFEST_BASE,
    MANIFEST_PER_ENTRY,
    MAX_FILES,
    PROOF_OVERHEAD,
    read_members,
)
from custody.errors import IntegrityError
from custody.ledger.tiles import MAX_ENTRY_SIZE

ITEM = "7274fc1a-5b3c-4e61-9c0f-2f1d3b4a5c6d"


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def _largest_bundle() -> dict[str, bytes]:
    """As many entries as MAX_FILES allows, each as large as custody's entries get.

    Entries of 700 bytes (an ``item:sealed`` with three readers is about that);
    proofs of 32 hashes (a log of four billion entries) against a checkpoint
    signed by the log and two witnesses; one item in four with a signed manifest of
    2 KB (a 255-byte file name); type tags as long as custody's longest.
    """
    entries = (MAX_FILES - 2) // 2
    checkpoint = b"custody.example/ledger\n4294967296\n" + b"A" * 44 + b"\n\n"
    checkpoint += b"".join(
        b"\xe2\x80\x94 witness%d.example " % i + b"B" * 96 + b"\n" for i in range(3)
    )
    proof = b"c2sp.org/tlog-proof@v1\nindex 4294967295\n" + (b"C" * 44 + b"\n") * 32 + b"\n"
    rows = [
        {
            "index": 4_000_000_000 + i,
            "item": ITEM,
            "leaf_hash": "d" * 64,
            "type": "item:verification_failed",
        }
        for i in range(entries)
    ]
    items = [
        {
            "item": ITEM,
            "signed_manifest": base64.b64encode(bytes(1500)).decode(),
            "signing_key": "k" * 44,
        }
        for _ in range(entries // 4)
    ]
    manifest = {"entries": rows, "format": "custody-bundle/v1", "items": items, "origin": "o"}
    members = {
        "manifest.json": json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode(),
        "checkpoint": checkpoint,
    }
    for i in range(entries):
        members[f"entries/{i}"] = b"e" * 700
        members[f"proofs/{i}.tlog-proof"] = proof + checkpoint
    return members


def test_the_largest_bundle_custody_makes_is_read_whole() -> None:
    members = _largest_bundle()
    assert len(members) == MAX_FILES
    assert read_members(_zip(members)) == members


def test_an_entry_of_the_tlog_tiles_maximum_is_read_and_one_byte_more_is_not() -> None:
    members = {"checkpoint": b"c", "entries/7": b"e" * MAX_ENTRY_SIZE}
    assert read_members(_zip(members)) == members
    members["entries/7"] += b"e"
    with pytest.raises(IntegrityError, match=r"^entries/7: larger than 65535 bytes"):
        read_members(_zip(members))


def test_a_proof_may_exceed_its_checkpoint_by_the_overhead_only() -> None:
    members = {"checkpoint": b"c" * 300, "proofs/0.tlog-proof": b"p" * (300 + PROOF_OVERHEAD)}
    assert read_members(_zip(members)) == members
    members["proofs/0.tlog-proof"] += b"p"
    with pytest.raises(IntegrityError, match=r"^proofs/0.tlog-proof: larger than"):
        read_members(_zip(members))


def test_the_manifest_may_grow_with_the_entries_only() -> None:
    limit = MANIFEST_BASE + 2 * MANIFEST_PER_ENTRY
    members = {"manifest.json": b" " * limit, "entries/0": b"", "entries/1": b""}
    assert read_members(_zip(members)) == members
    del members["entries/1"]
    with pytest.raises(IntegrityError, match=r"^manifest.json: larger than"):
        read_members(_zip(members))


def _with_entries(manifest: bytes) -> dict[str, bytes]:
    return {"manifest.json": manifest, **{f"entries/{i}": b"x" for i in range(200)}}


@pytest.mark.parametrize(
    ("manifest", "refusal"),
    [
        (b"[" * 2_000 + b"]" * 2_000, "nested more than 8 deep"),  # json.loads: RecursionError
        (b'["]]]]]]]]]]",' + b"[" * 16 + b"]" * 16 + b"]", "nested more than 8 deep"),
        (b"[" + b"[]," * 4_000 + b"[]]", r"more JSON values than a bundle of 200 entries needs"),
    ],
    ids=["deep", "deep behind a string of brackets", "many values"],
)
def test_a_manifest_costlier_to_parse_than_its_entries_need_is_refused(
    manifest: bytes, refusal: str
) -> None:
    with pytest.raises(IntegrityError, match=refusal):
        read_members(_zip(_with_entries(manifest)))


def test_brackets_inside_manifest_strings_are_no_brackets() -> None:
    manifest = b'{"entries":[],"format":"[[[[[[[[[[\\"[[[[[[[[","items":[],"origin":"o"}'
    members = _with_entries(manifest)
    assert read_members(_zip(members)) == members


def test_a_string_without_an_end_is_scanned_once() -> None:
    """Matched afresh from each escaped quote, this would take minutes; it takes one pass."""
    members = _with_entries(b'["' + b'\\"' * 130_000)
    assert read_members(_zip(members)) == members  # json.loads refuses it later
