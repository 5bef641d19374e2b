"""The embedded store (SQLite) syncs its write-ahead log at every commit in production, so an
action a client saw succeed survives a power cut; syncing at checkpoints only is for tests,
and refused anywhere else."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from custody.server.context import build_context
from custody.server.setup import initialise
from custody.settings import Settings
from custody.store.db import make_engine
from support.world import world_settings


def synchronous(engine_url: str, **kwargs: str) -> int:
    engine = make_engine(engine_url, **kwargs)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("PRAGMA synchronous")).scalar_one())
    finally:
        engine.dispose()


def test_production_syncs_every_commit_and_refuses_less() -> None:
    assert Settings(mode="production").sqlite_synchronous == "full"
    with pytest.raises(ValidationError, match="power cut"):
        Settings(mode="production", sqlite_synchronous="normal")
    with pytest.raises(ValidationError):
        Settings(mode="development", sqlite_synchronous="off")
    Settings(mode="development", sqlite_synchronous="normal")


def test_the_engine_syncs_as_the_settings_say(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'custody.db'}"
    # SQLite's numbers: 1 NORMAL, 2 FULL
    assert synchronous(url) == 2
    assert synchronous(url, synchronous="full") == 2
    assert synchronous(url, synchronous="normal") == 1


@pytest.mark.parametrize(("given", "expected"), [("full", 2), ("normal", 1)])
def test_a_server_context_opens_its_database_as_set(
    tmp_path: Path, given: str, expected: int
) -> None:
    settings = world_settings(tmp_path / "data", f"sqlite:///{tmp_path / 'custody.db'}",
                              sqlite_synchronous=given)
    initialise(settings)
    ctx = build_context(settings)
    try:
        with ctx.unit_of_work() as session:
            assert session.execute(text("PRAGMA synchronous")).scalar_one() == expected
    finally:
        ctx.close()
