"""Fixtures shared by the whole suite.

``db_url`` runs a test once on SQLite and once on PostgreSQL. PostgreSQL is
the server named by ``CUSTODY_TEST_POSTGRES_URL`` (default: the project's
machines, 127.0.0.1:5432, trust auth); each test gets a fresh database that is
dropped afterwards. Without a reachable PostgreSQL the postgres half is
skipped locally and fails under CI, so CI can never pass without it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from databases import fresh_postgres
from vector_paths import REPO_ROOT, VECTORS_DIR

__all__ = ["REPO_ROOT", "VECTORS_DIR"]


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped after the test."""
    with fresh_postgres("custody_test") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database URL: the test runs once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'custody.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url
