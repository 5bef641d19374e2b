"""Blob stores: where ciphertext lives. One protocol, checked by one contract suite.

Uploads arrive in pieces (tus PATCH requests, possibly on different server
nodes), so a store keeps *staged* uploads until they are complete, then
publishes them under a key atomically. Only ciphertext ever reaches a store.

Two implementations: :class:`FilesystemBlobStore` here (the embedded default) and
:class:`custody.store.s3.S3BlobStore` (an S3-compatible object store, for several
nodes). :func:`open_blob_store` picks one by ``CUSTODY_BLOB_URL``.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol
from urllib.parse import urlparse
from urllib.request import url2pathname

from custody.errors import Conflict, CustodyError, InvalidInput, LocalError, NotFound
from custody.files import drop_cached

if TYPE_CHECKING:
    from custody.store.s3 import S3Config

_KEY = re.compile(r"^[a-z0-9][a-z0-9/_\-]{0,199}$")
_READ = 1024 * 1024


@dataclass(frozen=True)
class BlobInfo:
    size: int
    sha256: str


class BlobStore(Protocol):
    """Where ciphertext lives: staged uploads, then published blobs under a key.

    The key an upload is published under is named when it is created (an S3 multipart
    upload is made for its object) and again when it is finished; a store may refuse
    another key at the finish.
    """

    def create_upload(self, upload_id: str, length: int, key: str) -> None: ...
    def upload_offset(self, upload_id: str) -> int: ...
    def append(self, upload_id: str, offset: int, chunks: Iterable[bytes]) -> int: ...
    def finish_upload(self, upload_id: str, key: str) -> BlobInfo: ...
    def truncate_upload(self, upload_id: str, offset: int) -> None: ...
    def abort_upload(self, upload_id: str) -> None: ...
    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]: ...
    def size(self, key: str) -> int: ...
    def delete(self, key: str) -> None: ...
    def check(self) -> None:
        """Raise :class:`CustodyError` unless the store can be read and written now."""
        ...


def check_key(key: str) -> str:
    """``key`` if it is a blob key or upload id custody makes: nothing that escapes a folder."""
    if not _KEY.fullmatch(key) or ".." in key:
        raise InvalidInput(f"invalid blob key {key!r}")
    return key


class FilesystemBlobStore:
    """Blobs as files under a root: staged in ``uploads/``, published by atomic rename."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._staging = root / "uploads"
        self._blobs = root / "objects"
        # Ciphertext only, but who sent how much, and when, is still nobody else's business:
        # folders 0700 and files 0600, whatever the process's umask.
        for folder in (root, self._staging, self._blobs):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        # SHA-256 of each staged upload so far, kept while this process wrote every
        # byte of it, so publishing need not read the whole file back (see _Running).
        self._running: dict[str, _Running] = {}
        self._running_lock = threading.Lock()

    def _staged(self, upload_id: str) -> tuple[Path, Path]:
        check_key(upload_id)
        return self._staging / f"{upload_id}.part", self._staging / f"{upload_id}.length"

    def _path(self, key: str) -> Path:
        return self._blobs / check_key(key)

    def check(self) -> None:
        for folder in (self._blobs, self._staging):
            if not (folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)):
                raise CustodyError(
                    f"the blob folder {folder} is missing or not writable",
                    hint="check CUSTODY_BLOB_URL (or the data folder) and its owner")

    def create_upload(self, upload_id: str, length: int, key: str) -> None:
        part, meta = self._staged(upload_id)
        self._path(key)  # checked now; the file is moved there when it is finished
        if part.exists():
            raise Conflict(f"upload {upload_id} exists already")
        with _disk_errors():
            _write_private(meta, str(length).encode(), exclusive=False)
            try:
                _write_private(part, b"", exclusive=True)
            except FileExistsError:
                raise Conflict(f"upload {upload_id} exists already") from None

    def upload_offset(self, upload_id: str) -> int:
        part, _ = self._staged(upload_id)
        try:
            return part.stat().st_size
        except FileNotFoundError:
            raise NotFound(f"no upload {upload_id}") from None

    def _length(self, upload_id: str) -> int:
        _, meta = self._staged(upload_id)
        try:
            return int(meta.read_text())
        except FileNotFoundError:
            raise NotFound(f"no upload {upload_id}") from None

    def _progress(self, upload_id: str) -> tuple[Path, Path, int, int]:
        """The upload's staged file and its length's, the length declared and the bytes so far."""
        part, meta = self._staged(upload_id)
        return part, meta, self._length(upload_id), self.upload_offset(upload_id)

    def append(self, upload_id: str, offset: int, chunks: Iterable[bytes]) -> int:
        part, _, length, current = self._progress(upload_id)
        if offset != current:
            raise Conflict(f"upload is at offset {current}, not {offset}")
        running = self._take_running(upload_id, part, current)
        with _disk_errors(), part.open("r+b") as out:
            out.seek(current)
            written = current
            try:
                for chunk in chunks:
                    if written + len(chunk) > length:
                        raise InvalidInput("more bytes than the upload's declared length")
                    out.write(chunk)
                    written += len(chunk)
                    if running is not None:
                        running.digest.update(chunk)
            finally:
                # Keep what arrived intact, even when the client went away:
                # that is what makes the upload resumable.
                out.flush()
                os.fsync(out.fileno())
                drop_cached(out.fileno(), current, written - current)  # written once
                if running is not None:
                    running.offset = written
                    running.mtime_ns = os.fstat(out.fileno()).st_mtime_ns
                    with self._running_lock:
                        self._running[upload_id] = running
        return written

    def _take_running(self, upload_id: str, part: Path, offset: int) -> _Running | None:
        """The running hash of ``upload_id`` if it covers exactly its first ``offset`` bytes."""
        with self._running_lock:
            running = self._running.pop(upload_id, None)
        if offset == 0:
            return _Running()
        if running is None or running.offset != offset:
            return None
        return running if part.stat().st_mtime_ns == running.mtime_ns else None

    def _staged_sha256(self, upload_id: str, part: Path, size: int) -> str:
        running = self._take_running(upload_id, part, size)
        if running is not None and size:
            return running.digest.hexdigest()
        with part.open("rb") as f:
            return hash_stream(iter(lambda: f.read(_READ), b""))

    def finish_upload(self, upload_id: str, key: str) -> BlobInfo:
        part, meta, length, size = self._progress(upload_id)
        if size != length:
            raise Conflict(f"upload is incomplete: {size} of {length} bytes")
        sha256 = self._staged_sha256(upload_id, part, size)
        target = self._path(key)
        with _disk_errors():
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.replace(part, target)  # keeps the staged file's 0600
            _fsync_dir(target.parent)
            meta.unlink(missing_ok=True)
        return BlobInfo(size=size, sha256=sha256)

    def truncate_upload(self, upload_id: str, offset: int) -> None:
        """Drop bytes past ``offset``: a PATCH whose checksum failed leaves no trace."""
        part, _ = self._staged(upload_id)
        with self._running_lock:
            self._running.pop(upload_id, None)
        try:
            out = part.open("r+b")
        except FileNotFoundError:
            raise NotFound(f"no upload {upload_id}") from None
        with _disk_errors(), out:
            if offset > out.seek(0, os.SEEK_END):
                raise InvalidInput(f"upload is shorter than {offset} bytes; cannot move on")
            out.truncate(offset)
            os.fsync(out.fileno())

    def abort_upload(self, upload_id: str) -> None:
        part, meta = self._staged(upload_id)
        with self._running_lock:
            self._running.pop(upload_id, None)
        part.unlink(missing_ok=True)
        meta.unlink(missing_ok=True)

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        path = self._path(key)
        try:
            f = path.open("rb")
        except FileNotFoundError:
            raise NotFound(f"no blob {key}") from None
        return _read_range(f, start, end)

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            raise NotFound(f"no blob {key}") from None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


@dataclass
class _Running:
    """SHA-256 of a staged upload's first ``offset`` bytes, all written by this process.

    It is trusted only while the file is exactly as this process left it: same
    size, same modification time. Anything else (another node appended or
    truncated, this process restarted) falls back to reading the file back.
    """

    digest: hashlib._Hash = field(default_factory=hashlib.sha256)
    offset: int = 0
    mtime_ns: int = 0


def hash_stream(blocks: Iterable[bytes]) -> str:
    """The hex SHA-256 of the concatenated ``blocks``."""
    digest = hashlib.sha256()
    for block in blocks:
        digest.update(block)
    return digest.hexdigest()


def _read_range(f: BinaryIO, start: int, end: int | None) -> Iterator[bytes]:
    with f:
        f.seek(start)
        remaining = None if end is None else end - start
        while remaining is None or remaining > 0:
            want = _READ if remaining is None else min(_READ, remaining)
            block = f.read(want)
            if not block:
                return
            if remaining is not None:
                remaining -= len(block)
            yield block


def _write_private(path: Path, data: bytes, *, exclusive: bool) -> None:
    """Create (or with ``exclusive=False`` replace the content of) a 0600 file."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    with os.fdopen(os.open(path, flags, 0o600), "wb") as f:
        f.write(data)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _disk_errors:  # noqa: N801 - a context manager that reads as a clause
    """Turn a full or read-only disk into a :class:`LocalError` a person can act on."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, typ: object, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
            raise LocalError(
                "the blob store's disk is full or read-only", hint="free space on the server"
            ) from exc


def open_blob_store(url: str, s3: S3Config | None = None) -> BlobStore:
    """The blob store a ``CUSTODY_BLOB_URL`` names: ``file:///path`` or ``s3://bucket/prefix``
    (reached as ``s3`` says: endpoint, region, credentials)."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return FilesystemBlobStore(Path(url2pathname(parsed.path)))
    if parsed.scheme == "s3":
        if parsed.username or parsed.password or parsed.port or parsed.query or parsed.fragment:
            raise InvalidInput(
                "CUSTODY_BLOB_URL: an s3:// URL names a bucket and a prefix only",
                hint="give credentials in CUSTODY_S3_ACCESS_KEY_ID and "
                "CUSTODY_S3_SECRET_ACCESS_KEY, the endpoint in CUSTODY_S3_ENDPOINT_URL",
            )
        from custody.store.s3 import S3BlobStore, S3Config  # noqa: PLC0415 - boto3 only for S3

        return S3BlobStore.from_url(url, s3 or S3Config())
    raise InvalidInput(
        f"CUSTODY_BLOB_URL: unsupported blob store URL {url!r}",
        hint="use file:///absolute/path or s3://bucket/prefix",
    )
