"""Files custody creates are 0600 and its folders 0700, whatever the process's umask.

``custody serve`` and ``admin init`` run under a private umask; the stores do not rely
on it, so an embedding, a test or an operator command without it writes nothing others
can read. The integration test (tests/integration/test_at_rest_data_dir.py) walks a
whole server's folder.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from custody.cli.main import main
from custody.errors import Conflict
from custody.store.blobs import FilesystemBlobStore
from custody.store.db import make_engine


@pytest.fixture(autouse=True)
def open_umask() -> Iterator[None]:
    """The usual umask, which left the database and blobs 0644."""
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_blob_store_folders_and_files_are_private(tmp_path: Path) -> None:
    root = tmp_path / "blobs"
    store = FilesystemBlobStore(root)
    store.create_upload("u1", 6, "items/abc")
    store.append("u1", 0, [b"abc"])
    staged = sorted((root / "uploads").iterdir())
    assert [p.name for p in staged] == ["u1.length", "u1.part"]
    assert {p.name: _mode(p) for p in staged} == {"u1.length": 0o600, "u1.part": 0o600}

    store.append("u1", 3, [b"def"])
    store.finish_upload("u1", "items/abc")
    published = root / "objects" / "items" / "abc"
    assert published.read_bytes() == b"abcdef"
    assert _mode(published) == 0o600
    for folder in (root, root / "uploads", root / "objects", root / "objects" / "items"):
        assert _mode(folder) == 0o700, folder


def test_a_second_upload_with_the_same_id_is_still_a_conflict(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path / "blobs")
    store.create_upload("u1", 6, "items/abc")
    with pytest.raises(Conflict):
        store.create_upload("u1", 6, "items/abc")


def test_sqlite_database_wal_and_shm_are_private(tmp_path: Path) -> None:
    path = tmp_path / "custody.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
        made = {p.name: _mode(p) for p in tmp_path.iterdir()}
        # The files exist while a connection is open: the pool keeps one.
        assert made == {"custody.db": 0o600, "custody.db-wal": 0o600, "custody.db-shm": 0o600}
    finally:
        engine.dispose()



def test_admin_init_makes_a_private_folder_and_gives_the_umask_back(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert main(["admin", "init", "--data-dir", str(data)]) == 0
    assert _mode(data) == 0o700
    for path in data.rglob("*"):
        assert _mode(path) == (0o700 if path.is_dir() else 0o600), path
    assert {p.name for p in data.iterdir()} >= {"custody.db", "secrets", "log-origin.txt"}
    # An in-process caller (a test, an embedding) keeps its own umask.
    assert os.umask(0o022) == 0o022
