"""/healthz says the process serves; /readyz says the database and the blob store answer.

A load balancer sends requests only to ready nodes; why a node is not ready goes to its log
(what to check), never to the anonymous caller.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from custody.errors import CustodyError
from custody.store.db import check_database, make_engine, make_sessionmaker
from support.in_process import in_process

DEAD_DATABASE = "postgresql://custody@127.0.0.1:9/custody"  # nothing listens on port 9


def test_ready_then_not_when_the_blob_folder_is_gone(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with in_process(tmp_path, f"sqlite:///{tmp_path / 'custody.db'}") as w:
        ready = w.client.get("/readyz")
        assert (ready.status_code, ready.text) == (200, "ready\n")
        assert ready.headers["cache-control"] == "no-store"

        shutil.rmtree(tmp_path / "data" / "blobs" / "objects")
        with caplog.at_level("WARNING", logger="custody.server"):
            refused = w.client.get("/readyz")
        assert (refused.status_code, refused.text) == (503, "not ready: blob store\n")
        assert "objects is missing or not writable" in caplog.text
        assert "check CUSTODY_BLOB_URL" in caplog.text
        assert "objects" not in refused.text  # nothing of the machine to the caller
        assert w.client.get("/healthz").status_code == 200  # alive all the same


def test_not_ready_when_the_database_does_not_answer(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with in_process(tmp_path, f"sqlite:///{tmp_path / 'custody.db'}") as w:
        dead = make_sessionmaker(make_engine(DEAD_DATABASE))
        object.__setattr__(w.ctx, "sessions", dead)  # the database went away under the node
        with caplog.at_level("WARNING", logger="custody.server"):
            refused = w.client.get("/readyz")
        assert (refused.status_code, refused.text) == (503, "not ready: database\n")
        assert "check CUSTODY_DATABASE_URL" in caplog.text
        assert w.client.get("/healthz").status_code == 200


def test_check_database_says_what_to_check() -> None:
    with pytest.raises(CustodyError, match="the database did not answer") as failed:
        check_database(make_sessionmaker(make_engine(DEAD_DATABASE)))
    assert "CUSTODY_DATABASE_URL" in failed.value.diagnostics()
