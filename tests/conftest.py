"""Fixtures shared by the whole suite.

``db_url`` runs a test once on SQLite and once on PostgreSQL. PostgreSQL is
the server named by ``CUSTODY_TEST_POSTGRES_URL`` (default: the project's
machines, 127.0.0.1:5432, trust auth); each test gets a fresh database that is
dropped afterwards. Without a reachable PostgreSQL the postgres half is
skipped locally and fails under CI, so CI can never pass without it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from vector_paths import REPO_ROOT, VECTORS_DIR

__all__ = ["REPO_ROOT", "VECTORS_DIR"]

POSTGRES_ADMIN_URL = os.environ.get(
    "CUSTODY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _postgres_or_skip() -> None:
    try:
        psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL at {POSTGRES_ADMIN_URL} is required under CI: {exc}")
        pytest.skip(f"no PostgreSQL at {POSTGRES_ADMIN_URL}: {exc}")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped after the test."""
    _postgres_or_skip()
    name = f"custody_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database URL: the test runs once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'custody.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url
