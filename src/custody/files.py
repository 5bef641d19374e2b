"""Files on this machine: writing one only its owner can read, atomically (keys, tokens,
client state, secrets); letting the kernel drop large files written once from its cache."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from custody.errors import LocalError


def write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner can read, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise LocalError(f"cannot write {path}: {exc.strerror}") from exc


def drop_cached(fd: int, offset: int, length: int) -> None:
    """Ask the kernel to drop ``length`` bytes of ``fd`` from ``offset`` from the page cache:
    those already written out go now, those still dirty start being written out (the call
    waits for neither). For large files written once and read rarely (blobs, received
    evidence), which would otherwise push every other file out of memory and make each
    new write pay to reclaim it; OpenStack Swift's object server does the same. A hint:
    where it is not supported, nothing happens."""
    if length > 0 and hasattr(os, "posix_fadvise"):
        with contextlib.suppress(OSError):
            os.posix_fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)
