"""The filesystem store's own promises: where files live, and its running SHA-256.

The contract every blob store passes is test_blob_contract.py.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from custody.errors import InvalidInput
from custody.store.blobs import FilesystemBlobStore, open_blob_store


def test_filesystem_layout_and_nothing_escapes_the_root(tmp_path: Path) -> None:
    root = tmp_path / "blobs"
    store = FilesystemBlobStore(root)
    store.create_upload("u", 4, "items/x")
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


@pytest.mark.parametrize("url", ["ftp://host/x", "blobs", "s3://key:secret@bucket/p",
                                 "s3://bucket:9000/p", "s3://bucket/p?region=x", "s3://B/p",
                                 "s3://bucket/../p", "s3://x/p", "s3://bucket\n/p",
                                 "s3://bucket/p\n"])
def test_unsupported_store_urls(url: str) -> None:
    with pytest.raises(InvalidInput, match="CUSTODY_BLOB_URL"):
        open_blob_store(url)


# The filesystem store keeps a running SHA-256 of each upload while it wrote every
# byte itself, and reads the file back whenever that is not certain.


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_running_hash_survives_truncation_and_other_writers(tmp_path: Path) -> None:
    data = os.urandom(5 * 1024 * 1024 + 3)
    node_a, node_b = FilesystemBlobStore(tmp_path), FilesystemBlobStore(tmp_path)
    node_a.create_upload("u", len(data), "items/a")
    node_a.append("u", 0, [data[:1000]])
    node_a.append("u", 1000, [b"\x00" * 5000])  # a PATCH whose checksum failed ...
    node_a.truncate_upload("u", 1000)  # ... is rolled back
    node_a.append("u", 1000, [data[1000:2_000_000]])
    node_b.append("u", 2_000_000, [data[2_000_000:4_000_000]])  # another node took over
    node_a.append("u", 4_000_000, [data[4_000_000:]])
    assert node_a.finish_upload("u", "items/a").sha256 == _sha(data)


def test_a_restarted_server_reads_the_upload_back(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024)
    FilesystemBlobStore(tmp_path).create_upload("u", len(data), "items/a")
    FilesystemBlobStore(tmp_path).append("u", 0, [data[:100]])
    restarted = FilesystemBlobStore(tmp_path)
    restarted.append("u", 100, [data[100:]])
    assert restarted.finish_upload("u", "items/a").sha256 == _sha(data)


def test_publishing_uses_the_running_hash_when_the_file_is_untouched(tmp_path: Path) -> None:
    """Evidence that the file is not read back: swap its bytes but keep size and mtime."""
    data = os.urandom(2 * 1024 * 1024)
    store = FilesystemBlobStore(tmp_path)
    store.create_upload("u", len(data), "items/a")
    store.append("u", 0, [data[:10]])
    store.append("u", 10, [data[10:]])
    part = tmp_path / "uploads" / "u.part"
    stamp = part.stat().st_mtime_ns
    part.write_bytes(bytes(len(data)))
    os.utime(part, ns=(stamp, stamp))
    assert store.finish_upload("u", "items/a").sha256 == _sha(data)
    # ...and a changed modification time is enough to distrust it.
    store.create_upload("v", len(data), "items/b")
    store.append("v", 0, [data])
    part = tmp_path / "uploads" / "v.part"
    part.write_bytes(bytes(len(data)))
    os.utime(part, ns=(part.stat().st_mtime_ns + 10**9,) * 2)
    assert store.finish_upload("v", "items/b").sha256 == _sha(bytes(len(data)))
