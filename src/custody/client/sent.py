"""What this machine has sent, so a second identical ``custody send`` is noticed, not repeated.

A finished send is recorded (0600, in the client's home) under its server, sender, case and
recipients: the transfer's id and each file's name, size and SHA-256. Before a new send of
the same files to the same recipients for the same case, :func:`find_sent` compares content,
not names or paths: sizes first (free), then SHA-256, reusing a recorded digest when the
file at that path still has the size and modification time it had when sent. A transfer
the server no longer has, or that was revoked, does not count: sending again is right then.
A send that did not finish is not here at all; it resumes (``custody.client.sending``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from custody.client.config import Session, home
from custody.client.http import Api
from custody.client.ids import server_id
from custody.errors import IntegrityError, NotFound
from custody.files import write_private
from custody.protocol.transfers import TransferOut

_READ = 1024 * 1024
_KEEP = 200  # the most sends remembered per case and recipients
NOT_A_DUPLICATE = frozenset({"revoked", "draft"})


@dataclass(frozen=True)
class SentFile:
    """One file of a finished send, as ``find_sent`` compares it."""

    path: Path
    name: str
    size: int
    mtime_ns: int
    sha256: str | None = None  # None: not read yet


def _log_path(session: Session, case: str, to: Sequence[str]) -> Path:
    ident = json.dumps([session.server, session.user_id, case, sorted(to)])
    return home() / "sent" / f"{hashlib.sha256(ident.encode()).hexdigest()[:32]}.json"


def _records(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return []
    return [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []


def record_sent(
    session: Session, case: str, to: Sequence[str], transfer: str, files: Sequence[SentFile]
) -> None:
    path = _log_path(session, case, to)
    record = {
        "transfer": transfer,
        "at": datetime.now(UTC).isoformat(),
        "files": [
            {
                "path": str(f.path),
                "name": f.name,
                "size": f.size,
                "mtime_ns": f.mtime_ns,
                "sha256": f.sha256,
            }
            for f in files
        ],
    }
    write_private(path, json.dumps([*_records(path), record][-_KEEP:]).encode())


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_READ):
            digest.update(block)
    return digest.hexdigest()


def _digests(files: Sequence[SentFile], known: dict[tuple[str, int, int], str]) -> list[str]:
    """Each file's SHA-256: the recorded one if the file is unchanged since, else read."""
    return sorted(
        f.sha256 or known.get((str(f.path), f.size, f.mtime_ns)) or sha256_file(f.path)
        for f in files
    )


def find_sent(
    api: Api, session: Session, case: str, to: Sequence[str], files: Sequence[SentFile]
) -> TransferOut | None:
    """The transfer that already sent exactly these contents to ``to`` for ``case``, if one
    stands (the server has it, and it was not revoked); else None."""
    sizes = sorted(f.size for f in files)
    candidates = [
        r
        for r in reversed(_records(_log_path(session, case, to)))
        if sorted(int(f.get("size", -1)) for f in r.get("files", [])) == sizes
    ]
    if not candidates:
        return None
    known = {
        (str(f["path"]), int(f["size"]), int(f["mtime_ns"])): str(f["sha256"])
        for r in candidates
        for f in r["files"]
        if {"path", "size", "mtime_ns", "sha256"} <= set(f)
    }
    digests = _digests(files, known)
    for record in candidates:
        if sorted(str(f.get("sha256")) for f in record["files"]) != digests:
            continue
        try:
            transfer_id = server_id(str(record.get("transfer")), "transfer id")
            transfer = api.get(f"/api/v1/transfers/{transfer_id}", TransferOut)
        except (NotFound, IntegrityError):
            continue  # gone from the server, or a record this client did not write
        if transfer.state not in NOT_A_DUPLICATE:
            return transfer
    return None
