"""Writes outside the server's requests, interrupted halfway (issue 15: atomicity at every
write): the server secret ``custody admin init`` makes, and ``custody admin restore``.

In process: the write is cut where a killed process would stop (an exception raised out of
the call that writes), and what is left on disk is what the next start finds.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from custody import faults
from custody.errors import InvalidInput, LocalError
from custody.server import backup
from custody.settings import Settings
from custody.store.server_secret import create_server_secret, load_server_secret

pytestmark = [pytest.mark.faults]


class Killed(BaseException):
    """Where the process would have died: not an Exception, so no handler catches it."""


def test_init_killed_while_writing_the_secret_leaves_none_and_init_makes_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(data_dir=tmp_path, mode="production")

    def killed(fd: int) -> None:
        raise Killed

    with monkeypatch.context() as m:
        m.setattr(os, "fsync", killed)
        with pytest.raises(Killed):
            create_server_secret(settings)
    # Not an empty secret the server would refuse ("empty or damaged") and init would keep.
    assert list(settings.server_secret_path.parent.iterdir()) == []
    assert create_server_secret(settings)
    assert len(load_server_secret(settings)) == 32
    assert not create_server_secret(settings)  # kept, not replaced


def _backup(tmp_path: Path) -> Path:
    """A backup folder as ``custody admin backup`` writes it: a database, a secret, a blob."""
    source = tmp_path / "source"
    source.mkdir()
    settings = Settings(data_dir=source, mode="development")
    create_server_secret(settings)
    (source / "blobs" / "objects" / "items").mkdir(parents=True)
    (source / "blobs" / "objects" / "items" / "one").write_bytes(b"ciphertext")
    with sqlite3.connect(source / "custody.db") as db:  # a stand-in for custody's schema
        db.execute("CREATE TABLE ledger_entries (body BLOB)")
        db.execute("CREATE TABLE items (id TEXT, blob_key TEXT, state TEXT)")
        db.execute("INSERT INTO items VALUES ('one', 'items/one', 'sealed')")
    db.close()
    out = tmp_path / "backup"
    backup.backup(settings, out)
    return out


def test_restore_killed_halfway_leaves_no_database_to_serve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _backup(tmp_path)
    target = Settings(data_dir=tmp_path / "restored", mode="development")
    copied: list[str] = []
    real = shutil.copyfileobj

    def copy(src: Any, dst: Any, *args: Any) -> None:
        real(src, dst, *args)
        copied.append(Path(src.name).name)
        if Path(src.name).name == "custody.db":
            raise Killed  # the database written, not yet renamed into place

    with monkeypatch.context() as m:
        m.setattr(shutil, "copyfileobj", copy)
        with pytest.raises(Killed):
            backup.restore(folder, target)
    assert {"one", "server.key"} <= set(copied)  # every other file before the database
    # No database: no server starts on a half-restored folder; the operator empties it and
    # restores again.
    assert not (target.data_dir / "custody.db").exists()
    with pytest.raises(InvalidInput, match="not empty"):
        backup.restore(folder, target)
    shutil.rmtree(target.data_dir)
    backup.restore(folder, target)
    assert (target.data_dir / "custody.db").read_bytes() == (folder / "custody.db").read_bytes()


def test_fault_points_are_refused_outside_development_and_checked_by_name() -> None:
    environ = {faults.ENVIRONMENT: "upload.after_publish"}
    with pytest.raises(LocalError, match="development mode only"):
        faults.arm("production", environ)
    with pytest.raises(InvalidInput, match=r"no fault point upload\.after_pubish"):
        faults.arm("development", {faults.ENVIRONMENT: "upload.after_pubish"})
    assert faults.arm("development", environ) == {"upload.after_publish"}
    assert faults.arm("development", {}) == frozenset()  # disarmed again
    faults.point("upload.after_publish")  # not armed: nothing happens
