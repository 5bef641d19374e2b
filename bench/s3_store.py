"""The S3 blob store on a real S3 server (Swift's s3api from scripts/swift.sh), by hand.

What a tus upload costs there and where the ciphertext's SHA-256 comes from:

* SHA-256 alone: hashlib, and custody's resumable SHA-256 (OpenSSL's) over the same bytes,
  with the state saved and resumed after every batch;
* an upload of ``--size-mib`` MiB through ``S3BlobStore.append`` in batches of
  ``--batch-mib`` (16 MiB: what the tus endpoint writes; smaller, a client's small PATCHes,
  which re-read and re-write the part they leave unfilled), each batch as a fresh store
  (any node), then ``finish_upload`` with the saved state (no read back);
* the same upload finished after a rolled-back PATCH, so the object is read back and hashed;
* a whole GET and ranged GETs of 1 MiB from the middle.

Prints MB/s (10^6 bytes per second) and seconds. Bounded: one upload of each kind, deleted
afterwards. The environment names the store as a server's would:

    eval "$(scripts/swift.sh up)"   # or env, when it is up
    .venv/bin/python bench/s3_store.py --size-mib 1024
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import secrets
import time
from collections.abc import Callable
from typing import TypeVar

from custody.server.context import open_blobs
from custody.settings import Settings
from custody.store.blobs import hash_stream
from custody.store.resumable_sha256 import ResumableSha256
from custody.store.s3 import MIB, S3BlobStore

T = TypeVar("T")


def _timed(action: Callable[[], T]) -> tuple[float, T]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def _rate(size: int, seconds: float) -> str:
    return f"{size / seconds / 1e6:8.0f} MB/s  ({seconds:6.2f} s)"


def _same(got: str, expected: str) -> None:
    if got != expected:
        raise SystemExit(f"SHA-256 {got} is not {expected}")


@functools.cache
def _configured() -> S3BlobStore:
    store = open_blobs(Settings(mode="development"))
    if not isinstance(store, S3BlobStore):
        raise SystemExit("CUSTODY_BLOB_URL is not s3://...: eval \"$(scripts/swift.sh up)\"")
    return store


def _store() -> S3BlobStore:
    """Another node's store: nothing in memory but the (stateless, thread-safe) client,
    which a node makes once."""
    made = _configured()
    return S3BlobStore(made.client, made.bucket, made.prefix, part_size=made.part_size)


def _upload(size: int, block: bytes, batch: int, *, roll_back: bool) -> tuple[float, float, str]:
    """Append in batches from fresh stores, then finish; (append s, finish s, sha256)."""
    upload, key = secrets.token_hex(8), f"bench/{secrets.token_hex(8)}"
    _store().create_upload(upload, size, key)
    offset = 0
    started = time.perf_counter()
    while offset < size:
        end = min(offset + batch, size)
        pieces = [block[: min(len(block), end - at)] for at in range(offset, end, len(block))]
        if roll_back and offset == batch:  # one damaged batch, refused and rolled back
            _store().append(upload, offset, pieces)
            _store().truncate_upload(upload, offset)
        offset = _store().append(upload, offset, pieces)
    appended = time.perf_counter() - started
    store = _store()
    finished, info = _timed(lambda: store.finish_upload(upload, key))
    if roll_back:
        took, _ = _timed(lambda: [b"".join(store.read(key, size // 2, size // 2 + MIB))
                                  for _ in range(20)])
        print(f"  20 ranged GETs of 1 MiB         {_rate(20 * MIB, took)}")
        took, whole = _timed(lambda: hash_stream(store.read(key)))
        print(f"  GET of the whole object + hash  {_rate(size, took)}")
        _same(whole, info.sha256)
    store.delete(key)
    return appended, finished, info.sha256


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=512)
    parser.add_argument("--batch-mib", type=int, default=16,
                        help="bytes per append (the tus endpoint writes 16 MiB)")
    args = parser.parse_args()
    size = args.size_mib * MIB
    batch = args.batch_mib * MIB
    block = os.urandom(MIB)

    print(f"{args.size_mib} MiB, batches of {args.batch_mib} MiB, parts of "
          f"{_configured().part_size // MIB} MiB")
    chunks = [block] * (size // MIB)
    def plain() -> str:
        digest = hashlib.sha256()
        for chunk in chunks:
            digest.update(chunk)
        return digest.hexdigest()

    took, expected = _timed(plain)
    print(f"  hashlib SHA-256                 {_rate(size, took)}")

    def resumable() -> str:
        running = ResumableSha256()
        for n, chunk in enumerate(chunks):
            if n % args.batch_mib == 0:
                running = ResumableSha256.resume(running.state())
            running.update(chunk)
        return running.hexdigest()

    took, digest = _timed(resumable)
    _same(digest, expected)
    print(f"  resumable SHA-256, saved/batch  {_rate(size, took)}")

    appended, finished, digest = _upload(size, block, batch, roll_back=False)
    _same(digest, expected)
    print(f"  append (saved SHA-256 state)    {_rate(size, appended)}")
    print(f"  finish from the saved state     {finished:6.2f} s")
    appended, finished, digest = _upload(size, block, batch, roll_back=True)
    _same(digest, expected)
    print(f"  append, one batch rolled back   {_rate(size, appended)}")
    print(f"  finish reading the object back  {_rate(size, finished)}")


if __name__ == "__main__":
    main()
