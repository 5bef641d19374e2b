"""The S3 store's own promises: its layout, the SHA-256 it records, and its failures.

The contract it shares with the filesystem store is test_blob_contract.py. Most of these
run on moto (in process); what needs a real server's checks — signatures, ETags of
re-sent parts, a missing bucket — runs on Swift.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from pydantic import ValidationError

from custody.errors import Conflict, CustodyError, InvalidInput, ServerUnavailable
from custody.server.context import open_blobs
from custody.settings import Settings
from custody.store import resumable_sha256, s3
from custody.store.blobs import BlobInfo
from custody.store.s3 import MIB, S3BlobStore, S3Config, make_client
from support.swift import SWIFT_SH, TEST_PART, Swift

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@pytest.fixture
def moto_client() -> Iterator[S3Client]:
    moto = pytest.importorskip("moto")
    with moto.mock_aws():
        client = make_client(S3Config(region="us-east-1", access_key_id="k",
                                      secret_access_key="s"))  # noqa: S106 - moto's
        client.create_bucket(Bucket="bkt")
        yield client


@pytest.fixture
def store(moto_client: S3Client) -> S3BlobStore:
    return S3BlobStore(moto_client, "bkt", "pre/fix", part_size=TEST_PART)


def _names(client: S3Client, bucket: str = "bkt") -> list[str]:
    listed = client.list_objects_v2(Bucket=bucket).get("Contents", [])
    return sorted(o["Key"] for o in listed)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_layout_while_uploading_and_after(store: S3BlobStore, moto_client: S3Client) -> None:
    data = os.urandom(TEST_PART + 100)
    store.create_upload("u1", len(data), "items/x")
    store.append("u1", 0, [data[:TEST_PART + 10]])
    assert _names(moto_client) == ["pre/fix/uploads/u1/state", "pre/fix/uploads/u1/tail/2"]
    uploads = moto_client.list_multipart_uploads(Bucket="bkt")["Uploads"]
    assert [u["Key"] for u in uploads] == ["pre/fix/objects/items/x"]
    store.append("u1", TEST_PART + 10, [data[TEST_PART + 10:]])
    store.finish_upload("u1", "items/x")
    assert _names(moto_client) == ["pre/fix/objects/items/x"]
    assert not moto_client.list_multipart_uploads(Bucket="bkt").get("Uploads")


def test_the_sha256_comes_from_the_saved_state_without_reading_back(
        store: S3BlobStore, monkeypatch: pytest.MonkeyPatch) -> None:
    data = os.urandom(2 * TEST_PART + 3)
    store.create_upload("u", len(data), "items/x")
    for start, end in ((0, 7), (7, TEST_PART + 1), (TEST_PART + 1, len(data))):
        S3BlobStore(store.client, "bkt", "pre/fix", part_size=TEST_PART).append(  # any node
            "u", start, [data[start:end]])

    def no_read_back(key: str) -> str:
        raise AssertionError("read back")

    monkeypatch.setattr(store, "_read_back", no_read_back)
    assert store.finish_upload("u", "items/x") == BlobInfo(len(data), _sha(data))


def _counting_read_back(store: S3BlobStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    read_back = store._read_back

    def counted(key: str) -> str:
        calls.append(key)
        return read_back(key)

    monkeypatch.setattr(store, "_read_back", counted)
    return calls


def test_after_a_rollback_the_state_where_the_patch_began_is_used(
        store: S3BlobStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """A refused PATCH of a few writes, in the middle and at the very start: completion
    still reads nothing back."""
    data = os.urandom(2 * TEST_PART + 3)
    calls = _counting_read_back(store, monkeypatch)
    store.create_upload("u", len(data), "items/x")
    store.append("u", 0, [b"bad bytes"])
    store.truncate_upload("u", 0)
    store.append("u", 0, [data[:10]])
    offset = 10
    for end in (MIB, TEST_PART + 5, TEST_PART + 9):  # three writes of one PATCH, refused
        offset = store.append("u", offset, [os.urandom(end - offset)])
    store.truncate_upload("u", 10)
    store.append("u", 10, [data[10:]])
    assert store.finish_upload("u", "items/x") == BlobInfo(len(data), _sha(data))
    assert calls == []


def test_after_a_rollback_of_many_writes_the_object_is_read_back_once(
        store: S3BlobStore, monkeypatch: pytest.MonkeyPatch) -> None:
    data = os.urandom(TEST_PART + 3)
    calls = _counting_read_back(store, monkeypatch)
    store.create_upload("u", len(data), "items/x")
    store.append("u", 0, [data[:10]])
    offset = 10
    for _ in range(s3._MARKS):  # so many writes that the state at 10 is forgotten
        offset = store.append("u", offset, [os.urandom(1000)])
    store.truncate_upload("u", 10)
    store.append("u", 10, [data[10:]])
    assert store.finish_upload("u", "items/x") == BlobInfo(len(data), _sha(data))
    assert calls == ["items/x"]


def test_without_saved_states_the_object_is_read_back(
        store: S3BlobStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where OpenSSL's SHA-256 state cannot be saved, the published object is hashed."""
    monkeypatch.setattr(resumable_sha256, "available", lambda: False)
    data = os.urandom(TEST_PART + 3)
    store.create_upload("u", len(data), "items/x")
    store.append("u", 0, [data[:9]])
    store.append("u", 9, [data[9:]])
    assert store._load("u").sha256 is None
    assert store.finish_upload("u", "items/x") == BlobInfo(len(data), _sha(data))


def test_a_damaged_saved_state_is_not_trusted(store: S3BlobStore) -> None:
    data = os.urandom(100)
    store.create_upload("u", len(data), "items/x")
    store.append("u", 0, [data[:50]])
    record = store._load("u")
    assert record.sha256
    state = bytearray.fromhex(record.sha256)
    state[26 * 4] = 63  # the count of bytes in the block, no longer the bit count's
    record.sha256 = state.hex()
    store._save("u", record)
    store.append("u", 50, [data[50:]])
    assert store.finish_upload("u", "items/x") == BlobInfo(len(data), _sha(data))


def test_a_damaged_record_is_an_error_not_a_crash(store: S3BlobStore) -> None:
    store.create_upload("u", 10, "items/x")
    store.client.put_object(Bucket="bkt", Key="pre/fix/uploads/u/state", Body=b"{not json")
    with pytest.raises(CustodyError, match="unreadable"):
        store.upload_offset("u")


def test_a_finish_repeated_after_a_node_died_completes_once(store: S3BlobStore) -> None:
    data = os.urandom(TEST_PART + 5)
    store.create_upload("u", len(data), "items/x")
    store.append("u", 0, [data])
    record = store._load("u")
    store._complete(record, store.object_name("items/x"))  # ... and the node died here
    assert store.finish_upload("u", "items/x") == BlobInfo(len(data), _sha(data))
    assert b"".join(store.read("items/x")) == data


def test_the_part_size_grows_for_a_store_that_takes_fewer_parts() -> None:
    """Swift's s3api takes 1,000 parts unless told otherwise: 60 GB in 16 MiB parts would
    need 3,577."""
    client = make_client(S3Config(region="us-east-1"))
    swift_like = S3BlobStore(client, "bkt", part_size=16 * MIB, max_parts=1000)
    size = swift_like._part_size_for(60 * 10**9)
    assert size * 1000 >= 60 * 10**9 > (size - MIB) * 1000
    assert size % MIB == 0
    assert swift_like._part_size_for(15 * 1024 * MIB) == 16 * MIB
    with pytest.raises(InvalidInput, match="5 GiB") as refused:
        S3BlobStore(client, "bkt", max_parts=1)._part_size_for(6 * 1024**3)
    assert "CUSTODY_S3_MAX_PARTS" in refused.value.diagnostics()
    for wrong in (0, 10_001):
        with pytest.raises(InvalidInput):
            S3BlobStore(client, "bkt", max_parts=wrong)


def test_the_part_size_grows_for_uploads_of_more_than_10000_parts() -> None:
    store = S3BlobStore(make_client(S3Config(region="us-east-1")), "bkt", part_size=16 * MIB)
    assert store._part_size_for(60 * 10**9) == 16 * MIB
    big = 500 * 1024**3
    assert store._part_size_for(big) * 10_000 >= big
    assert store._part_size_for(big) % MIB == 0
    with pytest.raises(CustodyError):
        S3BlobStore(store.client, "bkt", part_size=5 * MIB - 1)


# ── settings ─────────────────────────────────────────────────────────────────────────────────


def _settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(mode="development", data_dir=tmp_path, **values)  # type: ignore[arg-type]


def test_settings_choose_the_s3_store(tmp_path: Path) -> None:
    settings = _settings(tmp_path, blob_url="s3://evidence/custody/prod",
                         s3_endpoint_url="http://127.0.0.1:9", s3_region="eu-west-2",
                         s3_access_key_id="AKIAEXAMPLE",
                         s3_secret_access_key="very-secret",  # noqa: S106 - not one
                         s3_part_size_mib=64, s3_max_parts=1000)
    store = open_blobs(settings)
    assert isinstance(store, S3BlobStore)
    assert (store.bucket, store.prefix, store.part_size) == ("evidence", "custody/prod/", 64 * MIB)
    assert store.max_parts == 1000
    assert store.client.meta.region_name == "eu-west-2"
    assert "very-secret" not in repr(settings)
    assert "very-secret" not in repr(S3Config(secret_access_key="very-secret"))  # noqa: S106


@pytest.mark.parametrize(("values", "variable"), [
    ({"blob_url": "gopher://host/x"}, "CUSTODY_BLOB_URL"),
    ({"blob_url": "s3:///prefix"}, "CUSTODY_BLOB_URL"),
    ({"s3_endpoint_url": "ftp://host"}, "CUSTODY_S3_ENDPOINT_URL"),
    ({"s3_endpoint_url": "https://key:secret@host"}, "CUSTODY_S3_ENDPOINT_URL"),
    ({"s3_access_key_id": "only-the-id"}, "CUSTODY_S3_SECRET_ACCESS_KEY"),
    ({"s3_part_size_mib": 4}, "s3_part_size_mib"),
    ({"s3_max_parts": 0}, "s3_max_parts"),
    ({"s3_max_parts": 10_001}, "s3_max_parts"),
    ({"mode": "production", "s3_endpoint_url": "http://objects.internal:8080"},
     "CUSTODY_S3_ENDPOINT_URL"),
])
def test_bad_settings_name_their_variable(
        tmp_path: Path, values: dict[str, object], variable: str) -> None:
    with pytest.raises(ValidationError, match=variable):
        Settings(**{"data_dir": tmp_path, "mode": "development", **values})  # type: ignore[arg-type]


def test_bad_bucket_names_name_the_variable(tmp_path: Path) -> None:
    for url in ("s3://UPPER/x", "s3://a/x", "s3://bucket/../x"):
        with pytest.raises(CustodyError, match="CUSTODY_BLOB_URL"):
            open_blobs(_settings(tmp_path, blob_url=url))


def test_production_takes_https_and_loopback_endpoints(tmp_path: Path) -> None:
    for endpoint in ("https://objects.internal", "http://127.0.0.1:8080", "http://localhost"):
        Settings(data_dir=tmp_path, mode="production", s3_endpoint_url=endpoint)


def test_an_object_store_that_does_not_answer(caplog: pytest.LogCaptureFixture) -> None:
    secret = f"secret-{uuid.uuid4().hex}"
    store = S3BlobStore(make_client(S3Config(endpoint_url="http://127.0.0.1:9", region="x",
                                             access_key_id="AKIDEXAMPLE",
                                             secret_access_key=secret)), "bkt")
    with caplog.at_level("DEBUG"), pytest.raises(ServerUnavailable, match="did not answer") \
            as failed:
        store.upload_offset("u")
    shown = failed.value.diagnostics()
    assert "check CUSTODY_S3_ENDPOINT_URL" in shown
    said = [shown, repr(failed.value), str(failed.value.__cause__), caplog.text]
    assert not [text for text in said if secret in text]


def test_check_says_whether_the_bucket_answers(store: S3BlobStore) -> None:
    store.check()
    with pytest.raises(CustodyError, match="no such bucket") as missing:
        S3BlobStore(store.client, "no-such-bucket").check()
    assert "CUSTODY_BLOB_URL" in missing.value.diagnostics()
    unreachable = S3BlobStore(make_client(S3Config(
        endpoint_url="http://127.0.0.1:9", region="x", access_key_id="k",
        secret_access_key="s")), "bkt")  # noqa: S106 - nobody listens
    with pytest.raises(ServerUnavailable, match="did not answer"):
        unreachable.check()


# ── on Swift: what only a real server checks ─────────────────────────────────────────────────


@pytest.fixture(scope="module")
def swift_bucket(swift: Swift) -> str:
    return swift.new_bucket()


@pytest.mark.swift
def test_a_part_replaced_behind_the_record_fails_the_finish(
        swift: Swift, swift_bucket: str) -> None:
    store = swift.store(swift_bucket, f"t/{uuid.uuid4().hex}")
    data = os.urandom(TEST_PART + 1)
    store.create_upload("u", len(data), "items/x")
    store.append("u", 0, [data])
    record = store._load("u")
    store.client.upload_part(Bucket=swift_bucket, Key=store.object_name("items/x"),
                             UploadId=record.multipart, PartNumber=1, Body=bytes(TEST_PART))
    with pytest.raises(Conflict, match="changed"):
        store.finish_upload("u", "items/x")


@pytest.mark.swift
def test_swift_sh_up_on_a_running_store_only_says_how_to_reach_it(swift: Swift) -> None:
    port = swift.endpoint.rsplit(":", 1)[1]
    env = {**os.environ, "SWIFT_PROXY_PORT": port}
    started = time.monotonic()
    again = subprocess.run(["bash", str(SWIFT_SH), "up", str(swift.folder)], env=env,
                           capture_output=True, text=True, timeout=120, check=True)
    assert time.monotonic() - started < 10  # nothing started, nothing installed
    assert f"export CUSTODY_S3_ENDPOINT_URL={swift.endpoint}\n" in again.stdout
    assert "export CUSTODY_BLOB_URL=s3://custody/custody\n" in again.stdout
    assert not again.stderr  # "is up ... in Ns" is said when it starts, not now
    assert swift.client().list_buckets()["Buckets"]  # still up


@pytest.mark.swift
def test_swift_takes_10000_parts_as_s3_does(swift: Swift, swift_bucket: str) -> None:
    """scripts/swift.sh raises Swift's limits (1,000 parts) to S3's, which the store assumes
    by default: part 10,000 is taken, part 10,001 refused."""
    client, key = swift.client(), f"t/{uuid.uuid4().hex}"
    upload = client.create_multipart_upload(Bucket=swift_bucket, Key=key)["UploadId"]
    try:
        client.upload_part(Bucket=swift_bucket, Key=key, UploadId=upload, PartNumber=10_000,
                           Body=b"last")
        with pytest.raises(ClientError, match="InvalidArgument"):
            client.upload_part(Bucket=swift_bucket, Key=key, UploadId=upload,
                               PartNumber=10_001, Body=b"past")
    finally:
        client.abort_multipart_upload(Bucket=swift_bucket, Key=key, UploadId=upload)


@pytest.mark.swift
def test_a_wrong_secret_is_refused_and_never_shown(
        swift: Swift, swift_bucket: str, caplog: pytest.LogCaptureFixture) -> None:
    wrong = "not-the-secret-" + uuid.uuid4().hex
    store = S3BlobStore(make_client(swift.config(secret=wrong)), swift_bucket)
    with caplog.at_level("DEBUG"), pytest.raises(CustodyError) as refused:
        store.upload_offset("u")
    logged = [r for r in caplog.records if r.name == "custody.store.s3"]
    assert [r.levelname for r in logged] == ["WARNING"]  # the operator sees it
    assert "check CUSTODY_S3_ACCESS_KEY_ID" in logged[0].getMessage()
    assert wrong not in caplog.text
    with pytest.raises(CustodyError, match="refused custody's credentials"):
        store.check()
    shown = refused.value.diagnostics()
    assert "CUSTODY_S3_SECRET_ACCESS_KEY" in shown
    assert wrong not in shown


@pytest.mark.swift
def test_a_missing_bucket_says_so(swift: Swift) -> None:
    store = S3BlobStore(swift.client(), f"missing-{uuid.uuid4().hex[:8]}")
    with pytest.raises(CustodyError, match="no such bucket"):
        store.check()
    S3BlobStore(swift.client(), swift.new_bucket()).check()  # the control
    with pytest.raises(CustodyError, match="no such bucket") as refused:
        store.create_upload("u", 1, "items/x")
    assert "CUSTODY_BLOB_URL" in refused.value.diagnostics()


def test_module_docstring_names_the_layout() -> None:
    assert "PREFIX/uploads/<id>/state" in (s3.__doc__ or "")


class _FailingPart:
    """An ``upload_part`` that fails on call number ``fail_at`` (from 1), like a store gone."""

    def __init__(self, store: S3BlobStore, fail_at: int) -> None:
        self.upload_part, self.fail_at, self.calls = store.client.upload_part, fail_at, 0

    def __call__(self, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls == self.fail_at:
            raise EndpointConnectionError(endpoint_url="http://objects.test")
        return self.upload_part(**kwargs)


def test_a_first_part_that_fails_leaves_the_upload_as_it_was(
        store: S3BlobStore, monkeypatch: pytest.MonkeyPatch) -> None:
    data = os.urandom(2 * TEST_PART)
    store.create_upload("u", len(data), "items/x")
    store.append("u", 0, [data[:100]])
    before = store._load("u")
    monkeypatch.setattr(store.client, "upload_part", _FailingPart(store, 1))
    with pytest.raises(ServerUnavailable, match="did not answer"):
        store.append("u", 100, [data[100:TEST_PART + 5]])
    assert store._load("u") == before  # offset, parts and SHA-256 state: as they were
    monkeypatch.undo()
    store.append("u", 100, [data[100:]])

    def no_read_back(key: str) -> str:
        raise AssertionError("read back")

    monkeypatch.setattr(store, "_read_back", no_read_back)
    assert store.finish_upload("u", "items/x") == BlobInfo(len(data), _sha(data))


def test_a_later_part_that_fails_keeps_the_parts_that_went(
        store: S3BlobStore, monkeypatch: pytest.MonkeyPatch) -> None:
    data = os.urandom(3 * TEST_PART)
    store.create_upload("u", len(data), "items/x")
    store.append("u", 0, [data[:100]])
    monkeypatch.setattr(store.client, "upload_part", _FailingPart(store, 2))
    with pytest.raises(ServerUnavailable):
        store.append("u", 100, [data[100:2 * TEST_PART + 7]])
    assert store.upload_offset("u") == TEST_PART  # the first part went; the second did not
    monkeypatch.undo()
    store.append("u", TEST_PART, [data[TEST_PART:]])
    assert store.finish_upload("u", "items/x") == BlobInfo(len(data), _sha(data))
    assert b"".join(store.read("items/x")) == data
