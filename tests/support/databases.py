"""Fresh databases for tests: one place that creates, checks and drops them.

PostgreSQL is the server named by ``CUSTODY_TEST_POSTGRES_URL`` (default: the
project's machines, 127.0.0.1:5432, trust auth). Without it, tests skip
locally and fail under CI, so CI can never pass without it.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

POSTGRES_ADMIN_URL = os.environ.get(
    "CUSTODY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
# The shared servers a test may ask for with ``@pytest.mark.parametrize("server", STACKS,
# indirect=True)``: BACKENDS and ``swift``, PostgreSQL with Swift's S3 for blobs.
STACKS = [*BACKENDS, pytest.param("swift", marks=[pytest.mark.postgres, pytest.mark.swift])]


def postgres_or_skip() -> None:
    try:
        psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL at {POSTGRES_ADMIN_URL} is required under CI: {exc}")
        pytest.skip(f"no PostgreSQL at {POSTGRES_ADMIN_URL}: {exc}")


def _name(url: str) -> str:
    return url.rsplit("/", 1)[1]


def made_postgres(prefix: str) -> str:
    """A new, empty database named ``<prefix>_<random>``; its URL."""
    postgres_or_skip()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{name}"


def drop_postgres(url: str) -> None:
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(_name(url)))
        )


def recreate_from(url: str, template: str) -> None:
    """The database at ``url`` dropped and made again as a copy of ``template``'s (which
    nobody may be connected to)."""
    name, source = sql.Identifier(_name(url)), sql.Identifier(_name(template))
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(name, source))


@contextlib.contextmanager
def fresh_postgres(prefix: str) -> Iterator[str]:
    """A new, empty database named ``<prefix>_<random>``, dropped afterwards."""
    url = made_postgres(prefix)
    try:
        yield url
    finally:
        drop_postgres(url)


@contextlib.contextmanager
def fresh_database(backend: str, folder: Path) -> Iterator[str]:
    """A new, empty database of ``backend``: a file in ``folder``, or a PostgreSQL database."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'custody.db'}"
        return
    with fresh_postgres("custody_test") as url:
        yield url
