"""The blob store contract: every implementation of ``BlobStore`` must pass this suite.

Only the filesystem store exists today; a new store (S3, ...) is added to ``IMPLEMENTATIONS``
and must pass unchanged. Implementation details (where files live) are tested at the end,
for the filesystem store only.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from custody.errors import Conflict, InvalidInput, NotFound
from custody.store.blobs import BlobInfo, BlobStore, FilesystemBlobStore, open_blob_store

Factory = Callable[[Path], BlobStore]

IMPLEMENTATIONS: dict[str, Factory] = {
    "filesystem": FilesystemBlobStore,
    "filesystem-via-url": lambda root: open_blob_store(root.as_uri()),
}

BAD_KEYS = ["../x", "items/../../x", "/etc/passwd", "", ".hidden", "Items/x", "a b", "a\x00b",
            "x" * 201, "items/..", "ü"]


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    return IMPLEMENTATIONS[request.param](tmp_path / "blobs")


def _read(store: BlobStore, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join(store.read(key, start, end))


def _publish(store: BlobStore, key: str, data: bytes, upload_id: str = "u1") -> BlobInfo:
    store.create_upload(upload_id, len(data))
    store.append(upload_id, 0, [data])
    return store.finish_upload(upload_id, key)


def test_upload_in_pieces_then_publish(store: BlobStore) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)  # more than one internal read block
    store.create_upload("up1", len(data))
    assert store.upload_offset("up1") == 0
    assert store.append("up1", 0, [data[:100], data[100:1000]]) == 1000
    assert store.upload_offset("up1") == 1000
    assert store.append("up1", 1000, [data[1000:2_000_000]]) == 2_000_000
    assert store.append("up1", 2_000_000, iter([data[2_000_000:]])) == len(data)
    info = store.finish_upload("up1", "items/abc-1")
    assert info == BlobInfo(size=len(data), sha256=hashlib.sha256(data).hexdigest())
    assert store.size("items/abc-1") == len(data)
    assert _read(store, "items/abc-1") == data
    with pytest.raises(NotFound):
        store.upload_offset("up1")  # published: no longer staged


def test_empty_append_and_empty_blob(store: BlobStore) -> None:
    store.create_upload("empty", 0)
    assert store.append("empty", 0, []) == 0
    assert store.append("empty", 0, [b""]) == 0
    info = store.finish_upload("empty", "items/empty")
    assert info == BlobInfo(0, hashlib.sha256(b"").hexdigest())
    assert _read(store, "items/empty") == b""


@pytest.mark.parametrize(("start", "end"), [
    (0, None), (0, 1), (5, 6), (0, 1000), (999, None), (999, 1000), (250, 750),
    (1000, None), (5000, None), (10, 10), (0, 5000)])
def test_read_ranges(store: BlobStore, start: int, end: int | None) -> None:
    data = os.urandom(1000)
    _publish(store, "items/r", data)
    assert _read(store, "items/r", start, end) == data[start:end]


def test_wrong_offset_is_a_conflict(store: BlobStore) -> None:
    store.create_upload("u", 100)
    store.append("u", 0, [b"a" * 10])
    for offset in (0, 5, 11, 100):
        with pytest.raises(Conflict):
            store.append("u", offset, [b"b"])
    assert store.upload_offset("u") == 10


def test_more_than_the_declared_length_is_refused(store: BlobStore) -> None:
    store.create_upload("u", 10)
    store.append("u", 0, [b"12345"])
    with pytest.raises(InvalidInput):
        store.append("u", 5, [b"123456"])
    assert store.upload_offset("u") == 5
    # Pieces that fit are kept; the one that would overflow is not written.
    with pytest.raises(InvalidInput):
        store.append("u", 5, [b"678", b"9AB"])
    assert store.upload_offset("u") == 8
    assert store.append("u", 8, [b"9A"]) == 10
    assert store.finish_upload("u", "items/x").sha256 == hashlib.sha256(b"123456789A").hexdigest()


def test_finishing_an_incomplete_upload_is_a_conflict(store: BlobStore) -> None:
    store.create_upload("u", 10)
    store.append("u", 0, [b"123"])
    with pytest.raises(Conflict):
        store.finish_upload("u", "items/x")
    with pytest.raises(NotFound):
        store.size("items/x")
    assert store.upload_offset("u") == 3  # still resumable


def test_creating_an_upload_twice_is_a_conflict(store: BlobStore) -> None:
    store.create_upload("u", 10)
    store.append("u", 0, [b"abc"])
    with pytest.raises(Conflict):
        store.create_upload("u", 10)
    assert store.upload_offset("u") == 3


def test_truncate_rolls_back(store: BlobStore) -> None:
    store.create_upload("u", 6)
    store.append("u", 0, [b"abc"])
    store.append("u", 3, [b"XYZ"])
    store.truncate_upload("u", 3)
    assert store.upload_offset("u") == 3
    store.append("u", 3, [b"def"])
    assert store.finish_upload("u", "items/t").size == 6
    assert _read(store, "items/t") == b"abcdef"


def test_abort_forgets_the_upload(store: BlobStore) -> None:
    store.create_upload("u", 6)
    store.append("u", 0, [b"abc"])
    store.abort_upload("u")
    for call in (lambda: store.upload_offset("u"), lambda: store.append("u", 3, [b"d"]),
                 lambda: store.finish_upload("u", "items/a")):
        with pytest.raises(NotFound):
            call()
    store.abort_upload("u")  # idempotent
    store.create_upload("u", 1)  # the id can be used again
    assert store.upload_offset("u") == 0


def test_unknown_uploads_and_blobs(store: BlobStore) -> None:
    with pytest.raises(NotFound):
        store.upload_offset("nope")
    with pytest.raises(NotFound):
        store.append("nope", 0, [b"x"])
    with pytest.raises(NotFound):
        store.finish_upload("nope", "items/x")
    with pytest.raises(NotFound):
        store.read("items/nope")
    with pytest.raises(NotFound):
        store.size("items/nope")
    store.delete("items/nope")  # deleting what is not there is not an error


def test_delete(store: BlobStore) -> None:
    _publish(store, "items/d", b"data")
    store.delete("items/d")
    with pytest.raises(NotFound):
        store.read("items/d")
    with pytest.raises(NotFound):
        store.size("items/d")


def test_blobs_are_independent(store: BlobStore) -> None:
    _publish(store, "items/one", b"first", "u1")
    _publish(store, "items/two", b"second", "u2")
    store.delete("items/one")
    assert _read(store, "items/two") == b"second"


@pytest.mark.parametrize("key", BAD_KEYS)
def test_bad_keys_are_refused(store: BlobStore, key: str) -> None:
    for call in (lambda: store.read(key), lambda: store.size(key), lambda: store.delete(key),
                 lambda: store.create_upload(key, 1), lambda: store.upload_offset(key)):
        with pytest.raises(InvalidInput):
            call()
    store.create_upload("good", 1)
    store.append("good", 0, [b"x"])
    with pytest.raises(InvalidInput):
        store.finish_upload("good", key)
    assert store.upload_offset("good") == 1  # refused before anything moved


# ── the filesystem store's own promises ──────────────────────────────────────────────────────


def test_filesystem_layout_and_nothing_escapes_the_root(tmp_path: Path) -> None:
    root = tmp_path / "blobs"
    store = FilesystemBlobStore(root)
    store.create_upload("u", 4)
    store.append("u", 0, [b"abcd"])
    assert (root / "uploads" / "u.part").read_bytes() == b"abcd"
    store.finish_upload("u", "items/x")
    assert (root / "objects" / "items" / "x").read_bytes() == b"abcd"
    assert list((root / "uploads").iterdir()) == []
    outside = tmp_path / "secret"
    outside.write_bytes(b"not yours")
    for key in ("../secret", "../../secret"):
        with pytest.raises(InvalidInput):
            store.read(key)
    assert outside.read_bytes() == b"not yours"


def test_unsupported_store_url() -> None:
    with pytest.raises(InvalidInput):
        open_blob_store("s3://bucket/prefix")


# The filesystem store keeps a running SHA-256 of each upload while it wrote every
# byte itself, and reads the file back whenever that is not certain.


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_running_hash_survives_truncation_and_other_writers(tmp_path: Path) -> None:
    data = os.urandom(5 * 1024 * 1024 + 3)
    node_a, node_b = FilesystemBlobStore(tmp_path), FilesystemBlobStore(tmp_path)
    node_a.create_upload("u", len(data))
    node_a.append("u", 0, [data[:1000]])
    node_a.append("u", 1000, [b"\x00" * 5000])  # a PATCH whose checksum failed ...
    node_a.truncate_upload("u", 1000)  # ... is rolled back
    node_a.append("u", 1000, [data[1000:2_000_000]])
    node_b.append("u", 2_000_000, [data[2_000_000:4_000_000]])  # another node took over
    node_a.append("u", 4_000_000, [data[4_000_000:]])
    assert node_a.finish_upload("u", "items/a").sha256 == _sha(data)


def test_a_restarted_server_reads_the_upload_back(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024)
    FilesystemBlobStore(tmp_path).create_upload("u", len(data))
    FilesystemBlobStore(tmp_path).append("u", 0, [data[:100]])
    restarted = FilesystemBlobStore(tmp_path)
    restarted.append("u", 100, [data[100:]])
    assert restarted.finish_upload("u", "items/a").sha256 == _sha(data)


def test_publishing_uses_the_running_hash_when_the_file_is_untouched(tmp_path: Path) -> None:
    """Evidence that the file is not read back: swap its bytes but keep size and mtime."""
    data = os.urandom(2 * 1024 * 1024)
    store = FilesystemBlobStore(tmp_path)
    store.create_upload("u", len(data))
    store.append("u", 0, [data[:10]])
    store.append("u", 10, [data[10:]])
    part = tmp_path / "uploads" / "u.part"
    stamp = part.stat().st_mtime_ns
    part.write_bytes(bytes(len(data)))
    os.utime(part, ns=(stamp, stamp))
    assert store.finish_upload("u", "items/a").sha256 == _sha(data)
    # ...and a changed modification time is enough to distrust it.
    store.create_upload("v", len(data))
    store.append("v", 0, [data])
    part = tmp_path / "uploads" / "v.part"
    part.write_bytes(bytes(len(data)))
    os.utime(part, ns=(part.stat().st_mtime_ns + 10**9,) * 2)
    assert store.finish_upload("v", "items/b").sha256 == _sha(bytes(len(data)))
