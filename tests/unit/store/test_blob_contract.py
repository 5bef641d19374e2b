"""The blob store contract: every implementation of ``BlobStore`` passes this suite unchanged.

Implementations: the filesystem store (directly and through ``open_blob_store``), the S3
store on OpenStack Swift's s3api (a real S3 server: ``swift``, started once per session by
scripts/swift.sh) and the same S3 store on moto (in process, for the fast inner loop; moto
checks no signatures, so it never stands in for Swift). S3 stores here use 5 MiB parts,
S3's smallest, so a few MiB cross part boundaries.

A *site* is one place blobs live; ``site.open()`` is another store on it — another server
node — with nothing shared in memory. Each store's own promises (where files and objects
lie) are in test_blobs.py and test_s3.py.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from custody.errors import Conflict, InvalidInput, NotFound
from custody.store.blobs import BlobInfo, BlobStore, FilesystemBlobStore, open_blob_store
from custody.store.s3 import MIB, S3BlobStore, S3Config, make_client
from support.swift import TEST_PART, Swift

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

BAD_KEYS = ["../x", "items/../../x", "/etc/passwd", "", ".hidden", "Items/x", "a b", "a\x00b",
            "x" * 201, "items/..", "ü", "items/x\n"]


@dataclass
class Site:
    """Where one store's blobs live; ``open()`` makes another store (node) on it."""

    name: str
    open: Callable[[], BlobStore]


@pytest.fixture(scope="module")
def moto_client() -> Iterator[S3Client]:
    """moto's S3 in process, one bucket for the module (each test has its own prefix)."""
    moto = pytest.importorskip("moto")
    with moto.mock_aws():
        client = make_client(S3Config(region="us-east-1", access_key_id="k",
                                      secret_access_key="s"))  # noqa: S106 - moto's
        client.create_bucket(Bucket="contract")
        yield client


@pytest.fixture(params=["filesystem", "filesystem-via-url", "s3-moto",
                        pytest.param("s3-swift", marks=pytest.mark.swift)])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Site]:
    root = tmp_path / "blobs"
    if request.param == "filesystem":
        yield Site("filesystem", lambda: FilesystemBlobStore(root))
    elif request.param == "filesystem-via-url":
        yield Site("filesystem-via-url", lambda: open_blob_store(root.as_uri()))
    elif request.param == "s3-moto":
        client = request.getfixturevalue("moto_client")
        prefix = f"contract/{uuid.uuid4().hex[:12]}"
        yield Site("s3-moto", lambda: S3BlobStore(client, "contract", prefix,
                                                  part_size=TEST_PART))
    else:
        swift: Swift = request.getfixturevalue("swift")
        bucket = request.getfixturevalue("swift_contract_bucket")
        prefix = f"contract/{uuid.uuid4().hex[:12]}"
        yield Site("s3-swift", lambda: swift.store(bucket, prefix))


@pytest.fixture(scope="module")
def swift_contract_bucket(swift: Swift) -> str:
    return swift.new_bucket()


@pytest.fixture
def store(site: Site) -> BlobStore:
    return site.open()


def _read(store: BlobStore, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join(store.read(key, start, end))


def _publish(store: BlobStore, key: str, data: bytes, upload_id: str = "u1") -> BlobInfo:
    store.create_upload(upload_id, len(data), key)
    store.append(upload_id, 0, [data])
    return store.finish_upload(upload_id, key)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ── uploads ──────────────────────────────────────────────────────────────────────────────────


def test_upload_in_pieces_then_publish(store: BlobStore) -> None:
    data = os.urandom(3 * MIB + 17)  # more than one internal read block
    store.create_upload("up1", len(data), "items/abc-1")
    assert store.upload_offset("up1") == 0
    assert store.append("up1", 0, [data[:100], data[100:1000]]) == 1000
    assert store.upload_offset("up1") == 1000
    assert store.append("up1", 1000, [data[1000:2_000_000]]) == 2_000_000
    assert store.append("up1", 2_000_000, iter([data[2_000_000:]])) == len(data)
    with pytest.raises(NotFound):
        store.size("items/abc-1")  # nothing is published before it is finished
    info = store.finish_upload("up1", "items/abc-1")
    assert info == BlobInfo(size=len(data), sha256=_sha(data))
    assert store.size("items/abc-1") == len(data)
    assert _read(store, "items/abc-1") == data
    with pytest.raises(NotFound):
        store.upload_offset("up1")  # published: no longer staged


def test_a_large_upload_across_many_parts_and_pieces(store: BlobStore) -> None:
    """More than two S3 parts, in pieces that start and end anywhere in them."""
    data = os.urandom(3 * TEST_PART + 12_345)
    cuts = [0, 1, 4 * MIB, TEST_PART - 1, TEST_PART, TEST_PART + 1, 2 * TEST_PART + 3 * MIB,
            3 * TEST_PART, len(data)]
    store.create_upload("big", len(data), "items/big")
    for start, end in itertools.pairwise(cuts):
        pieces = [data[start:min(end, start + 700_000)], data[min(end, start + 700_000):end]]
        assert store.append("big", start, pieces) == end
        assert store.upload_offset("big") == end
    assert store.finish_upload("big", "items/big") == BlobInfo(len(data), _sha(data))
    assert _read(store, "items/big") == data
    ranges: list[tuple[int, int | None]] = [
        (TEST_PART - 10, TEST_PART + 10), (2 * TEST_PART, 3 * TEST_PART), (len(data) - 5, None),
        (0, 1)]
    for first, stop in ranges:
        assert _read(store, "items/big", first, stop) == data[first:stop]


def test_an_upload_begun_on_one_node_resumes_on_another(site: Site) -> None:
    data = os.urandom(2 * TEST_PART + MIB)
    node_a, node_b, node_c = site.open(), site.open(), site.open()
    node_a.create_upload("u", len(data), "items/moved")
    node_a.append("u", 0, [data[:3 * MIB]])  # ends inside the first part
    assert node_b.upload_offset("u") == 3 * MIB
    node_b.append("u", 3 * MIB, [data[3 * MIB:TEST_PART + 7]])  # completes it, then a bit
    assert node_c.upload_offset("u") == TEST_PART + 7
    node_a.append("u", TEST_PART + 7, [data[TEST_PART + 7:]])  # back to the first node
    assert node_c.finish_upload("u", "items/moved") == BlobInfo(len(data), _sha(data))
    assert _read(node_b, "items/moved") == data


def test_empty_append_and_empty_blob(store: BlobStore) -> None:
    store.create_upload("empty", 0, "items/empty")
    assert store.append("empty", 0, []) == 0
    assert store.append("empty", 0, [b""]) == 0
    info = store.finish_upload("empty", "items/empty")
    assert info == BlobInfo(0, _sha(b""))
    assert _read(store, "items/empty") == b""
    assert store.size("items/empty") == 0


def test_wrong_offset_is_a_conflict(store: BlobStore) -> None:
    store.create_upload("u", 100, "items/x")
    store.append("u", 0, [b"a" * 10])
    for offset in (0, 5, 11, 100):
        with pytest.raises(Conflict):
            store.append("u", offset, [b"b"])
    assert store.upload_offset("u") == 10


def test_more_than_the_declared_length_is_refused(store: BlobStore) -> None:
    store.create_upload("u", 10, "items/x")
    store.append("u", 0, [b"12345"])
    with pytest.raises(InvalidInput):
        store.append("u", 5, [b"123456"])
    assert store.upload_offset("u") == 5
    # Pieces that fit are kept; the one that would overflow is not written.
    with pytest.raises(InvalidInput):
        store.append("u", 5, [b"678", b"9AB"])
    assert store.upload_offset("u") == 8
    assert store.append("u", 8, [b"9A"]) == 10
    assert store.finish_upload("u", "items/x").sha256 == _sha(b"123456789A")


def test_finishing_an_incomplete_upload_is_a_conflict(store: BlobStore) -> None:
    store.create_upload("u", 10, "items/x")
    store.append("u", 0, [b"123"])
    with pytest.raises(Conflict):
        store.finish_upload("u", "items/x")
    with pytest.raises(NotFound):
        store.size("items/x")
    assert store.upload_offset("u") == 3  # still resumable


def test_creating_an_upload_twice_is_a_conflict(store: BlobStore) -> None:
    store.create_upload("u", 10, "items/x")
    store.append("u", 0, [b"abc"])
    with pytest.raises(Conflict):
        store.create_upload("u", 10, "items/x")
    assert store.upload_offset("u") == 3


# ── a PATCH whose checksum failed leaves nothing ─────────────────────────────────────────────


def test_truncate_rolls_back(store: BlobStore) -> None:
    store.create_upload("u", 6, "items/t")
    store.append("u", 0, [b"abc"])
    store.append("u", 3, [b"XYZ"])
    store.truncate_upload("u", 3)
    assert store.upload_offset("u") == 3
    store.append("u", 3, [b"def"])
    assert store.finish_upload("u", "items/t") == BlobInfo(6, _sha(b"abcdef"))
    assert _read(store, "items/t") == b"abcdef"


def test_a_refused_patch_across_parts_leaves_nothing_of_itself(site: Site) -> None:
    """The bad bytes filled parts and a tail; another node continues from before them."""
    data = os.urandom(3 * TEST_PART)
    start = 3 * MIB  # inside the first part
    node_a, node_b = site.open(), site.open()
    node_a.create_upload("u", len(data), "items/t")
    node_a.append("u", 0, [data[:start]])
    bad = bytearray(data[start:2 * TEST_PART + MIB])
    bad[-1] ^= 1
    node_a.append("u", start, [bytes(bad[:4 * MIB]), bytes(bad[4 * MIB:])])  # two batches
    node_a.truncate_upload("u", start)
    assert node_b.upload_offset("u") == start
    node_a.truncate_upload("u", start)  # twice: the same
    node_b.append("u", start, [data[start:]])
    assert node_b.finish_upload("u", "items/t") == BlobInfo(len(data), _sha(data))
    assert _read(node_a, "items/t") == data


# ── terminating ──────────────────────────────────────────────────────────────────────────────


def test_abort_forgets_the_upload(store: BlobStore) -> None:
    store.create_upload("u", 6, "items/a")
    store.append("u", 0, [b"abc"])
    store.abort_upload("u")
    for call in (lambda: store.upload_offset("u"), lambda: store.append("u", 3, [b"d"]),
                 lambda: store.finish_upload("u", "items/a")):
        with pytest.raises(NotFound):
            call()
    store.abort_upload("u")  # idempotent
    store.create_upload("u", 1, "items/a")  # the id can be used again
    assert store.upload_offset("u") == 0
    with pytest.raises(NotFound):
        store.size("items/a")


def test_abort_of_an_upload_with_parts_on_another_node(site: Site) -> None:
    data = os.urandom(TEST_PART + MIB)
    node_a, node_b = site.open(), site.open()
    node_a.create_upload("u", len(data), "items/a")
    node_a.append("u", 0, [data[:TEST_PART + 10]])
    node_b.abort_upload("u")
    with pytest.raises(NotFound):
        node_a.upload_offset("u")
    with pytest.raises(NotFound):
        node_a.append("u", TEST_PART + 10, [data[TEST_PART + 10:]])
    with pytest.raises(NotFound):
        node_a.size("items/a")


# ── published blobs ──────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(("start", "end"), [
    (0, None), (0, 1), (5, 6), (0, 1000), (999, None), (999, 1000), (250, 750),
    (1000, None), (5000, None), (10, 10), (0, 5000)])
def test_read_ranges(store: BlobStore, start: int, end: int | None) -> None:
    data = os.urandom(1000)
    _publish(store, "items/r", data)
    assert _read(store, "items/r", start, end) == data[start:end]


def test_a_read_can_stop_early(store: BlobStore) -> None:
    data = os.urandom(3 * MIB)
    _publish(store, "items/r", data)
    blocks = store.read("items/r")
    first = next(iter(blocks))
    assert data.startswith(first)
    close = getattr(blocks, "close", None)
    if close is not None:
        close()  # a client that went away: the stream is released
    assert _read(store, "items/r", 10, 20) == data[10:20]


def test_unknown_uploads_and_blobs(store: BlobStore) -> None:
    with pytest.raises(NotFound):
        store.upload_offset("nope")
    with pytest.raises(NotFound):
        store.append("nope", 0, [b"x"])
    with pytest.raises(NotFound):
        store.finish_upload("nope", "items/x")
    with pytest.raises(NotFound):
        store.truncate_upload("nope", 0)
    for start, end in ((0, None), (5, 5), (10, 20)):
        with pytest.raises(NotFound):
            store.read("items/nope", start, end)
    with pytest.raises(NotFound):
        store.size("items/nope")
    store.delete("items/nope")  # deleting what is not there is not an error
    store.abort_upload("nope")  # nor is forgetting an upload that is not there


def test_delete(site: Site) -> None:
    store, other_node = site.open(), site.open()
    _publish(store, "items/d", os.urandom(TEST_PART + 1))  # a multipart object
    other_node.delete("items/d")
    with pytest.raises(NotFound):
        store.read("items/d")
    with pytest.raises(NotFound):
        store.size("items/d")
    store.delete("items/d")  # twice: nothing more to do


def test_blobs_are_independent(store: BlobStore) -> None:
    _publish(store, "items/one", b"first", "u1")
    _publish(store, "items/two", b"second", "u2")
    store.delete("items/one")
    assert _read(store, "items/two") == b"second"


def test_concurrent_uploads(site: Site) -> None:
    """Eight uploads at once, each from its own node, in pieces across part boundaries."""
    blobs = {f"items/c{n}": os.urandom(TEST_PART + 1 + n * 200_000) for n in range(8)}
    failures: list[BaseException] = []

    def upload(n: int, key: str, data: bytes) -> None:
        try:
            node = site.open()
            node.create_upload(f"c{n}", len(data), key)
            offset = 0
            for size in (MIB, 3 * MIB, len(data)):
                offset = node.append(f"c{n}", offset, [data[offset:size]])
            assert node.finish_upload(f"c{n}", key) == BlobInfo(len(data), _sha(data))
        except Exception as exc:  # noqa: BLE001 - reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=upload, args=(n, key, data))
               for n, (key, data) in enumerate(blobs.items())]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    reader = site.open()
    for key, data in blobs.items():
        assert _read(reader, key) == data


@pytest.mark.parametrize("key", BAD_KEYS)
def test_bad_keys_are_refused(store: BlobStore, key: str) -> None:
    for call in (lambda: store.read(key), lambda: store.size(key), lambda: store.delete(key),
                 lambda: store.create_upload(key, 1, "items/good"),
                 lambda: store.create_upload("fine", 1, key), lambda: store.upload_offset(key)):
        with pytest.raises(InvalidInput):
            call()
    store.create_upload("good", 1, "items/good")
    store.append("good", 0, [b"x"])
    with pytest.raises(InvalidInput):
        store.finish_upload("good", key)
    assert store.upload_offset("good") == 1  # refused before anything moved
