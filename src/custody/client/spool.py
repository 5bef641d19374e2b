"""``custody send - --name NAME``: standard input, kept as a file until it is sent.

A send must know a file's size before it uploads (the ciphertext's length is declared, and
the upload resumes from the server's offset by sealing the same bytes again), so standard
input is first copied into the client's home (0700 folder, 0600 file) under a name made
from its SHA-256 and given the name the sender chose. The same input piped again is the
same file (same path, size and time), so an interrupted send resumes and a finished one is
recognised; :func:`discard` removes it once the send is done.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import BinaryIO

from custody.client.config import home
from custody.crypto.manifest import safe_file_name
from custody.errors import LocalError

_READ = 1024 * 1024


def _spool() -> Path:
    path = home() / "spool"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def keep(source: BinaryIO, name: str) -> Path:
    """Copy ``source`` to a private file named ``name``; its path."""
    name = safe_file_name(name)
    digest = hashlib.sha256()
    part = _spool() / f".stdin-{os.getpid()}.part"
    try:
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            while block := source.read(_READ):
                out.write(block)
                digest.update(block)
        folder = _spool() / digest.hexdigest()[:32]
        folder.mkdir(mode=0o700, exist_ok=True)
        target = folder / name
        os.replace(part, target)
        os.utime(target, ns=(0, 0))  # the same input is the same file to resume and to compare
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise LocalError(
            f"cannot keep standard input in {_spool()}: {exc.strerror}",
            hint="free some space, or send a file instead of -",
        ) from exc
    return target


def discard(path: Path) -> None:
    """Remove a spooled input (and its folder) once its send is done."""
    if path.parent.parent == _spool():
        shutil.rmtree(path.parent, ignore_errors=True)
