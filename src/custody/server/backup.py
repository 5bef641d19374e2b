"""Backup and restore of the embedded stack (SQLite and blob files): ``custody admin backup``
and ``custody admin restore``.

A backup is a folder: a consistent snapshot of the database (SQLite's online backup, so the
server keeps running), the server's secrets and log origin, and the ciphertext of every item
the snapshot says is stored, copied after the snapshot through the blob store (published blobs
never change, so each one copied is the one the snapshot names). ``backup.json`` lists every
file with its SHA-256, the log's size at the snapshot, and any item whose blob was gone by the
time it was copied (shredded meanwhile, or already missing: scrub says which).

A restore refuses a folder whose files do not match ``backup.json`` and a data folder that is
not empty, then writes everything with the owner-only permissions ``custody admin init`` uses.
PostgreSQL and S3 deployments back up with their own tools (docs/operations.md).

A restored log is the log as it was at the snapshot: a client or witness that has verified a
larger tree refuses it as a rollback, which is right — what happened after the backup is gone
from the server, and they hold the proof that it happened.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

from sqlalchemy.engine import make_url

from custody.errors import CustodyError, IntegrityError, InvalidInput
from custody.settings import Settings
from custody.store.blobs import hash_stream, open_blob_store

FORMAT = "custody-backup/v1"
MANIFEST = "backup.json"
DATABASE = "custody.db"  # the snapshot's name in a backup, and the database's in a data folder
_STORED = ("uploaded", "sealed")  # custody.domain.items.ItemState values that hold a blob
_CHUNK = 1 << 20


@dataclass
class BackupReport:
    folder: Path
    log_size: int
    files: int = 0
    bytes: int = 0
    missing: list[str] = field(default_factory=list)  # items whose blob could not be copied


def _sqlite_path(settings: Settings) -> Path:
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        raise InvalidInput(
            "custody admin backup copies the embedded stack (SQLite and blob files)",
            hint="back up PostgreSQL with pg_dump and the object store with its own "
            "versioning or replication: docs/operations.md",
        )
    return Path(url.database)


def _blob_root(url: str) -> Path | None:
    parsed = urlparse(url)
    return Path(parsed.path) if parsed.scheme == "file" else None


def _private_file(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hash_stream(iter(lambda: f.read(_CHUNK), b""))


def backup(settings: Settings, out: Path) -> BackupReport:
    """Write a backup of the server ``settings`` name into the new folder ``out``."""
    database = _sqlite_path(settings)
    if _blob_root(settings.effective_blob_url) is None:
        raise InvalidInput("custody admin backup copies blob files, not an object store",
                           hint="back up the object store with its own tools")
    if out.exists() and any(out.iterdir()):
        raise InvalidInput(f"{out} is not empty", hint="give a new folder for the backup")
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    snapshot = out / DATABASE
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    target = sqlite3.connect(snapshot)
    try:
        source.backup(target)  # one consistent snapshot, while the server writes on
    finally:
        source.close()
        target.close()
    os.chmod(snapshot, 0o600)
    with sqlite3.connect(f"file:{snapshot}?mode=ro", uri=True) as db:
        log_size = int(db.execute("SELECT count(*) FROM ledger_entries").fetchone()[0])
        stored = db.execute(
            "SELECT id, blob_key FROM items WHERE blob_key IS NOT NULL AND state IN (?, ?) "
            "ORDER BY id", _STORED).fetchall()
    report = BackupReport(out, log_size)
    for name in ("log-origin.txt", "secrets/log-signing.key", "secrets/server.key"):
        source_file = settings.data_dir / name
        if source_file.exists():
            fd = _private_file(out / name)
            with source_file.open("rb") as src, os.fdopen(fd, "wb") as dst:
                shutil.copyfileobj(src, dst)
    blobs = open_blob_store(settings.effective_blob_url)
    for item_id, key in stored:
        path = out / "blobs" / "objects" / key
        try:
            chunks = blobs.read(key)
            fd = _private_file(path)
            with os.fdopen(fd, "wb") as dst:
                for chunk in chunks:
                    dst.write(chunk)
        except (CustodyError, OSError):  # gone since the snapshot: named, not fatal
            path.unlink(missing_ok=True)
            report.missing.append(item_id)
    files = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        rel = path.relative_to(out).as_posix()
        files[rel] = _sha256(path)
        report.files += 1
        report.bytes += path.stat().st_size
    manifest = {"format": FORMAT, "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "log_size": log_size, "missing_items": report.missing, "files": files}
    fd = _private_file(out / MANIFEST)
    with os.fdopen(fd, "w") as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    return report


def restore(folder: Path, settings: Settings) -> BackupReport:
    """Restore the backup in ``folder`` into the (empty or new) data folder of ``settings``."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        files: dict[str, str] = dict(manifest["files"])
        form = manifest["format"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(f"{folder} is not a custody backup (no readable {MANIFEST})") from exc
    if form != FORMAT:
        raise InvalidInput(f"{folder} is a backup in format {form!r}, not {FORMAT}")
    for rel, digest in files.items():
        path = folder / rel
        if ".." in Path(rel).parts or Path(rel).is_absolute():
            raise IntegrityError(f"{MANIFEST} names a file outside the backup: {rel!r}")
        if not path.is_file() or _sha256(path) != digest:
            raise IntegrityError(f"the backup's {rel} is missing or changed",
                                 hint="use another copy of the backup")
    target = settings.data_dir
    if target.exists() and any(target.iterdir()):
        raise InvalidInput(f"{target} is not empty",
                           hint="restore into a new data folder, then point the server at it")
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(target, 0o700)
    report = BackupReport(target, int(manifest["log_size"]), missing=list(
        manifest.get("missing_items", [])))
    # The database last, under a temporary name and renamed: a restore killed halfway leaves
    # no database, so no server starts on a data folder missing blobs or secrets.
    for rel in sorted(files, key=lambda r: r == DATABASE):
        path = target / rel
        written = path.with_name(path.name + ".restoring") if rel == DATABASE else path
        fd = _private_file(written)
        with (folder / rel).open("rb") as src, os.fdopen(fd, "wb") as dst:
            shutil.copyfileobj(src, dst)
            dst.flush()
            os.fsync(dst.fileno())
        if written != path:
            os.replace(written, path)
        report.files += 1
        report.bytes += path.stat().st_size
    (target / "blobs" / "uploads").mkdir(mode=0o700, parents=True, exist_ok=True)
    return report
