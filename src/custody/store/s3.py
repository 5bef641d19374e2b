"""Blobs in an S3-compatible object store: tus uploads as multipart uploads.

Layout under ``s3://BUCKET/PREFIX``::

    PREFIX/objects/<key>                 a published blob (the age file), whole
    PREFIX/uploads/<id>/state            an upload's record: JSON, 300 bytes + 40 a part
    PREFIX/uploads/<id>/tail/<n>         the buffered start of part n, while it is short

An upload is one S3 multipart upload to its final key, made when the upload is created
(the object is invisible until it completes). Part ``n`` (from 1) holds bytes
``[(n-1)·P, n·P)`` for a fixed part size ``P`` (16 MiB by default, more when the upload
needs more parts than the store takes; at least S3's 5 MiB), so a part's number follows from its
offset and re-sending a part replaces it. Bytes that do not fill a part are buffered in
``tail/<n>``: the next write — on this node or any other — reads them back, completes the
part and uploads it. The record is written last, in one PUT, after the parts and the tail
it counts: it holds the offset, the ETag of each full part and the SHA-256 state of the
bytes so far (:mod:`custody.store.resumable_sha256`). Whatever a node dies between is
either counted by the record or written again.

* ``upload_offset`` is the record's offset: what the object store holds, tail included.
* ``truncate_upload`` (a PATCH whose checksum failed) writes a record with the earlier
  offset. A tail object only ever grows from the start of its part with the same bytes, so
  the one the earlier offset needs still begins with them. The record keeps the SHA-256
  states of its last few offsets, so the state where the PATCH began is usually among
  them; if it is not, completion reads the object back once.
* ``finish_upload`` completes the multipart upload with the recorded ETags (a part
  replaced behind the record's back fails it) and finishes the SHA-256 from the state.
* Downloads are ranged GETs streamed through the node.

Nothing here keeps per-node state: any node can continue any upload.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)

from custody.errors import Conflict, CustodyError, InvalidInput, NotFound, ServerUnavailable
from custody.store import resumable_sha256
from custody.store.blobs import BlobInfo, check_key, hash_stream

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)

MIB = 1024 * 1024
MIN_PART = 5 * MIB  # S3: every part but the last is at least 5 MiB ...
MAX_PARTS = 10_000  # ... and an upload has at most 10,000 of them (Swift: 1,000 by default)
MAX_PART = 5 * 1024 * MIB  # nor is a part larger than 5 GiB
DEFAULT_PART = 16 * MIB
_READ = MIB
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-_]{1,61}[a-z0-9]$")
_PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/_.\-]{0,199}$")
_MARKS = 8  # states kept for rollbacks: a PATCH of up to 7 writes (16 MiB each) begins at one
_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})
_REFUSED = frozenset({"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403"})


@dataclass(frozen=True)
class S3Config:
    """Where the object store is and how to sign in to it (``CUSTODY_S3_*``).

    Credentials left out come from boto3's usual chain (environment, instance role).
    """

    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    addressing_style: Literal["path", "virtual", "auto"] = "path"
    part_size: int = DEFAULT_PART
    max_parts: int = MAX_PARTS


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` as (bucket, prefix); the prefix may be empty."""
    rest = url.removeprefix("s3://")
    bucket, _, prefix = rest.partition("/")
    prefix = prefix.strip("/")
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        raise InvalidInput(
            f"CUSTODY_BLOB_URL: {bucket!r} is not an S3 bucket name",
            hint="use s3://bucket/prefix (bucket: 3-63 lower-case letters, digits, . - _)",
        )
    if prefix and (not _PREFIX.fullmatch(prefix) or ".." in prefix or "//" in prefix):
        raise InvalidInput(
            f"CUSTODY_BLOB_URL: the prefix {prefix!r} is not a plain path",
            hint="use letters, digits and / _ . - in the prefix",
        )
    return bucket, prefix


def make_client(config: S3Config) -> S3Client:
    session = boto3.session.Session()
    client: S3Client = session.client(
        "s3",
        endpoint_url=config.endpoint_url,
        region_name=config.region,
        aws_access_key_id=config.access_key_id,
        aws_secret_access_key=config.secret_access_key,
        config=Config(
            s3={"addressing_style": config.addressing_style},
            retries={"max_attempts": 4, "mode": "standard"},
            max_pool_connections=32,
            connect_timeout=5,
            read_timeout=120,
            # Our own SHA-256 guards the content; S3's newer CRC trailers are not spoken
            # by every S3-compatible store (Swift's s3api among them).
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )
    return client


@dataclass
class _Record:
    """An upload's record, as stored in ``uploads/<id>/state``."""

    key: str
    length: int
    part_size: int
    multipart: str
    offset: int = 0
    etags: list[str] = field(default_factory=list)
    sha256: str | None = ""  # hex SHA-256 state of bytes [0, offset); None: unknown
    # [offset, state] of the last few writes' ends, oldest first: a rolled-back PATCH began
    # at one of them, and its state lets completion go on without reading back.
    marks: list[list[Any]] = field(default_factory=list)

    def mark(self) -> None:
        """Remember the state at the offset now, with the last ``_MARKS - 1`` before it."""
        if self.sha256:
            self.marks = [*self.marks, [self.offset, self.sha256]][-_MARKS:]

    def to_json(self) -> bytes:
        return json.dumps({"v": 1, **self.__dict__}, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> _Record:
        try:
            data = json.loads(raw)
            if data.pop("v", None) != 1:
                raise CustodyError("an upload record of an unknown version")
            return cls(**data)
        except (ValueError, TypeError, AttributeError) as exc:
            raise CustodyError(f"an upload record is unreadable ({type(exc).__name__})") from exc


class S3BlobStore:
    """Blobs as objects in one bucket under one prefix; see the module's docstring."""

    def __init__(self, client: S3Client, bucket: str, prefix: str = "", *,
                 part_size: int = DEFAULT_PART, max_parts: int = MAX_PARTS) -> None:
        if not 1 <= max_parts <= MAX_PARTS:
            raise InvalidInput(f"an S3 upload has 1 to {MAX_PARTS} parts")
        if part_size < MIN_PART:
            raise InvalidInput(f"an S3 part is at least {MIN_PART} bytes")
        self.client = client
        self.bucket = bucket
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        self.part_size = part_size
        self.max_parts = max_parts

    @classmethod
    def from_url(cls, url: str, config: S3Config) -> S3BlobStore:
        bucket, prefix = parse_s3_url(url)
        return cls(make_client(config), bucket, prefix, part_size=config.part_size,
                   max_parts=config.max_parts)

    # ── names ────────────────────────────────────────────────────────────────────────────

    def object_name(self, key: str) -> str:
        return f"{self.prefix}objects/{check_key(key)}"

    def _upload_dir(self, upload_id: str) -> str:
        return f"{self.prefix}uploads/{check_key(upload_id)}/"

    def _record_name(self, upload_id: str) -> str:
        return self._upload_dir(upload_id) + "state"

    def _tail_name(self, upload_id: str, part: int) -> str:
        return f"{self._upload_dir(upload_id)}tail/{part}"

    def _part_size_for(self, length: int) -> int:
        """The configured part size, or larger (whole MiB) if the upload would otherwise
        need more parts than the store takes."""
        needed = math.ceil(length / self.max_parts / MIB) * MIB
        size = max(self.part_size, needed)
        if size > MAX_PART:
            raise InvalidInput(
                f"an upload of {length} bytes needs parts larger than S3's 5 GiB",
                hint="raise CUSTODY_S3_MAX_PARTS if the object store takes more parts")
        return size

    # ── the record ───────────────────────────────────────────────────────────────────────

    def _load(self, upload_id: str) -> _Record:
        name = self._record_name(upload_id)
        with _s3_errors():
            try:
                body = self.client.get_object(Bucket=self.bucket, Key=name)["Body"]
            except ClientError as exc:
                if _code(exc) in _MISSING:
                    raise NotFound(f"no upload {upload_id}") from None
                raise
            with body:
                return _Record.from_json(body.read())

    def _save(self, upload_id: str, record: _Record) -> None:
        with _s3_errors():
            self.client.put_object(
                Bucket=self.bucket, Key=self._record_name(upload_id), Body=record.to_json()
            )

    def _exists(self, name: str) -> bool:
        with _s3_errors():
            try:
                self.client.head_object(Bucket=self.bucket, Key=name)
            except ClientError as exc:
                if _code(exc) in _MISSING:
                    return False
                raise
        return True

    # ── uploads ──────────────────────────────────────────────────────────────────────────

    def create_upload(self, upload_id: str, length: int, key: str) -> None:
        record_name = self._record_name(upload_id)
        name = self.object_name(key)
        if self._exists(record_name):
            raise Conflict(f"upload {upload_id} exists already")
        with _s3_errors():
            multipart = self.client.create_multipart_upload(
                Bucket=self.bucket, Key=name, ContentType="application/octet-stream"
            )["UploadId"]
        self._save(upload_id, _Record(key, length, self._part_size_for(length), multipart))

    def upload_offset(self, upload_id: str) -> int:
        return self._load(upload_id).offset

    def append(self, upload_id: str, offset: int, chunks: Iterable[bytes]) -> int:
        record = self._load(upload_id)
        if offset != record.offset:
            raise Conflict(f"upload is at offset {record.offset}, not {offset}")
        size = record.part_size
        part = first_part = offset // size  # 0-based: the part these bytes start in
        buffer = bytearray(self._tail(upload_id, part, offset - part * size))
        digest = self._digest(record)
        written = offset
        try:
            for chunk in chunks:
                if written + len(chunk) > record.length:
                    raise InvalidInput("more bytes than the upload's declared length")
                buffer += chunk
                written += len(chunk)
                if digest is not None:
                    digest.update(chunk)
                while len(buffer) >= size:
                    self._upload_part(upload_id, record, part, memoryview(buffer)[:size])
                    del buffer[:size]
                    part += 1
        finally:
            # Keep what arrived, even when the client went away: that makes it resumable.
            if len(buffer) < size:
                self._keep(upload_id, record, part, buffer, written, digest)
            elif part > first_part:  # a part upload failed: keep the parts that went
                self._keep(upload_id, record, part, bytearray(), part * size, None)
            # else the first part failed: the record stands as it was, and counts nothing new
        return written

    def _keep(self, upload_id: str, record: _Record, part: int, buffer: bytearray,
              kept: int, digest: resumable_sha256.ResumableSha256 | None) -> None:
        """Record ``kept`` bytes: ``buffer`` (the start of part ``part``) goes to its tail
        first, and to the last part if it ends the upload; the record last."""
        if buffer:
            self._put(self._tail_name(upload_id, part + 1), bytes(buffer))
            if kept == record.length:  # the last part may be short
                self._upload_part(upload_id, record, part, memoryview(buffer))
        record.offset = kept
        record.sha256 = digest.state().hex() if digest is not None else None
        record.mark()
        self._save(upload_id, record)

    def _digest(self, record: _Record) -> resumable_sha256.ResumableSha256 | None:
        if record.sha256 is None or not resumable_sha256.available():
            return None
        if record.sha256 == "":
            return resumable_sha256.ResumableSha256()
        try:
            return resumable_sha256.ResumableSha256.resume(bytes.fromhex(record.sha256))
        except ValueError:  # not a state this machine saves: hash the object once instead
            log.warning("an upload's saved SHA-256 state is unusable; it will be read back")
            return None

    def _tail(self, upload_id: str, part: int, length: int) -> bytes:
        """The first ``length`` bytes of part ``part`` (0-based), buffered in its tail."""
        if not length:
            return b""
        with _s3_errors():
            body = self.client.get_object(
                Bucket=self.bucket, Key=self._tail_name(upload_id, part + 1),
                Range=f"bytes=0-{length - 1}",
            )["Body"]
            with body:
                data = body.read()
        if len(data) != length:
            raise CustodyError(f"upload {upload_id}: its buffered tail is shorter than recorded")
        return data

    def _upload_part(self, upload_id: str, record: _Record, part: int,
                     data: memoryview) -> None:
        with _s3_errors():
            answer = self.client.upload_part(
                Bucket=self.bucket, Key=self.object_name(record.key), UploadId=record.multipart,
                PartNumber=part + 1, Body=bytes(data),
            )
        del record.etags[part:]
        record.etags.append(answer["ETag"])

    def _put(self, name: str, data: bytes) -> None:
        with _s3_errors():
            self.client.put_object(Bucket=self.bucket, Key=name, Body=data)

    def truncate_upload(self, upload_id: str, offset: int) -> None:
        """Go back to ``offset`` (where a PATCH whose checksum failed began)."""
        record = self._load(upload_id)
        if offset > record.offset:
            raise InvalidInput(f"upload is at offset {record.offset}; cannot move on to {offset}")
        if offset == record.offset:
            return
        record.offset = offset
        del record.etags[offset // record.part_size:]
        # The state where the PATCH began, if it is among the last few; else completion
        # reads the object back.
        states = {at: state for at, state in record.marks if at <= offset}
        record.sha256 = "" if offset == 0 else states.get(offset)
        record.marks = [[at, state] for at, state in record.marks if at <= offset]
        self._save(upload_id, record)

    def finish_upload(self, upload_id: str, key: str) -> BlobInfo:
        record = self._load(upload_id)
        name = self.object_name(key)
        if key != record.key:
            raise InvalidInput(f"upload {upload_id} publishes as {record.key}, not {key}")
        if record.offset != record.length:
            raise Conflict(f"upload is incomplete: {record.offset} of {record.length} bytes")
        self._complete(record, name)
        digest = self._digest(record)
        sha256 = digest.hexdigest() if digest is not None else self._read_back(key)
        self._forget(upload_id)
        return BlobInfo(size=record.length, sha256=sha256)

    def _complete(self, record: _Record, name: str) -> None:
        with _s3_errors():
            try:
                if record.length == 0:
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=name, UploadId=record.multipart)
                    self.client.put_object(Bucket=self.bucket, Key=name, Body=b"")
                    return
                self.client.complete_multipart_upload(
                    Bucket=self.bucket, Key=name, UploadId=record.multipart,
                    MultipartUpload={"Parts": [
                        {"PartNumber": n, "ETag": etag}
                        for n, etag in enumerate(record.etags, start=1)]},
                )
            except ClientError as exc:
                # Completed before, by a node that died before it forgot the upload.
                if _code(exc) == "NoSuchUpload" and self._published_size(name) == record.length:
                    return
                if _code(exc) in ("InvalidPart", "InvalidPartOrder", "EntityTooSmall"):
                    raise Conflict(
                        "the upload's parts changed while it was being written; "
                        "delete the upload and send the file again") from exc
                raise

    def _published_size(self, name: str) -> int | None:
        with _s3_errors():
            try:
                return self.client.head_object(Bucket=self.bucket, Key=name)["ContentLength"]
            except ClientError as exc:
                if _code(exc) in _MISSING:
                    return None
                raise

    def _read_back(self, key: str) -> str:
        log.warning("hashing blob %s by reading it back (its saved SHA-256 state is gone)", key)
        return hash_stream(self.read(key))

    def _forget(self, upload_id: str) -> None:
        """Delete the upload's record and tails (the record last: it finds the rest)."""
        directory = self._upload_dir(upload_id)
        record = self._record_name(upload_id)
        with _s3_errors():
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=directory)
            names = [o["Key"] for page in pages for o in page.get("Contents", [])]
            for name in sorted(names, key=lambda n: n == record):
                self.client.delete_object(Bucket=self.bucket, Key=name)

    def abort_upload(self, upload_id: str) -> None:
        try:
            record = self._load(upload_id)
        except NotFound:
            return
        with _s3_errors():
            try:
                self.client.abort_multipart_upload(
                    Bucket=self.bucket, Key=self.object_name(record.key),
                    UploadId=record.multipart)
            except ClientError as exc:
                if _code(exc) != "NoSuchUpload":
                    raise
        self._forget(upload_id)

    def check(self) -> None:
        with _s3_errors():
            try:
                self.client.head_bucket(Bucket=self.bucket)
            except ClientError as exc:
                if _code(exc) in _MISSING | {"NoSuchBucket"}:
                    raise CustodyError(
                        "the object store has no such bucket",
                        hint="create the bucket named in CUSTODY_BLOB_URL, or correct the URL",
                    ) from None
                raise

    # ── published blobs ──────────────────────────────────────────────────────────────────

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        name = self.object_name(key)
        if end is not None and end <= start:
            if self._published_size(name) is None:
                raise NotFound(f"no blob {key}")
            return iter(())
        byte_range = f"bytes={start}-{'' if end is None else end - 1}"
        with _s3_errors():
            try:
                answer = self.client.get_object(Bucket=self.bucket, Key=name, Range=byte_range)
            except ClientError as exc:
                if _code(exc) in _MISSING:
                    raise NotFound(f"no blob {key}") from None
                if _code(exc) == "InvalidRange":  # starts at or past the end
                    return iter(())
                raise
        return _stream(answer["Body"])

    def size(self, key: str) -> int:
        size = self._published_size(self.object_name(key))
        if size is None:
            raise NotFound(f"no blob {key}")
        return size

    def delete(self, key: str) -> None:
        # Swift's s3api deletes a multipart object's segments with it; S3 has no others.
        with _s3_errors():
            self.client.delete_object(Bucket=self.bucket, Key=self.object_name(key))


def _stream(body: Any) -> Iterator[bytes]:
    with body, _s3_errors():
        yield from body.iter_chunks(_READ)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class _s3_errors:  # noqa: N801 - a context manager that reads as a clause
    """Turn the object store's failures into errors an operator can act on.

    Credentials never appear: botocore's messages name the operation and the code only, and
    ours name the settings to check, never their values.
    """

    def __enter__(self) -> None:
        return None

    def __exit__(self, typ: object, exc: BaseException | None, tb: object) -> None:
        if not isinstance(exc, ClientError | BotoCoreError):
            return
        error = _explained(exc)
        # The caller is told too; the operator sees it here, with what to check.
        log.warning("%s", error.diagnostics())
        raise error from exc


def _explained(exc: ClientError | BotoCoreError) -> CustodyError:
    if isinstance(exc, ClientError):
        return _refused(exc)
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return CustodyError(
            "custody has no credentials for the object store",
            hint="set CUSTODY_S3_ACCESS_KEY_ID and CUSTODY_S3_SECRET_ACCESS_KEY "
            "(or give the machine a role)")
    if isinstance(exc, NoRegionError):
        return CustodyError("the object store's region is not set", hint="set CUSTODY_S3_REGION")
    return ServerUnavailable(
        f"the object store did not answer ({type(exc).__name__}); try again shortly",
        hint="check CUSTODY_S3_ENDPOINT_URL and that the object store is up and "
        "reachable from this machine")


def _refused(exc: ClientError) -> CustodyError:
    """What the object store's refusal means, and what to check."""
    code = _code(exc)
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    if code == "NoSuchBucket":
        return CustodyError(
            "the object store has no such bucket",
            hint="create the bucket named in CUSTODY_BLOB_URL, or correct the URL")
    if code in _REFUSED or status in (401, 403):
        return CustodyError(
            f"the object store refused custody's credentials ({code or status})",
            hint="check CUSTODY_S3_ACCESS_KEY_ID and CUSTODY_S3_SECRET_ACCESS_KEY, "
            "and that they may read and write the bucket of CUSTODY_BLOB_URL")
    if status >= 500:
        return ServerUnavailable(
            f"the object store failed ({code or status}); try again shortly",
            hint="check the object store's own health and logs")
    return CustodyError(
        f"the object store refused a request ({code or status})",
        hint="check CUSTODY_S3_ENDPOINT_URL, CUSTODY_S3_REGION and "
        "CUSTODY_S3_ADDRESSING_STYLE against the object store's documentation")
