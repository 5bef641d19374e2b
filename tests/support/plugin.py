"""The suite's fixtures: databases, the cast, the CLI runner and the shared real servers.

``db_url`` runs a test once on SQLite and once on PostgreSQL: a fresh, empty database
(PostgreSQL's is dropped after the test). ``server`` runs a test once against each
backend's real server, shared by every module of the session that asks for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.age import age_tool  # noqa: F401 - a fixture of the interoperability tests
from support.browser import Browser
from support.chromium import chromium, context  # noqa: F401 - fixtures of the browser tests
from support.cli import forked_calls
from support.client import Desks, desks_in
from support.databases import BACKENDS, fresh_postgres
from support.in_process import InProcess
from support.mail import Mailbox
from support.server import People, Server, shared_server
from support.swift import Swift, running_swift
from support.world import Cast


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that drives headless Chromium is marked ``browser`` (scripts/test.sh runs
    them on their own, after the rest)."""
    for item in items:
        if {"chromium", "context"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped after the test."""
    with fresh_postgres("custody_test") as url:
        yield url


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database URL: the test runs once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'custody.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """A real SMTP server on loopback, for the test alone."""
    made = Mailbox()
    try:
        yield made
    finally:
        made.stop()


@pytest.fixture
def cast(db_url: str, tmp_path: Path) -> Iterator[Cast]:
    """The usual people through the services, on a fresh database of each backend; e-mail
    goes to a port where nobody answers."""
    made = Cast.create(tmp_path, db_url)
    try:
        yield made
    finally:
        made.world.close()


@pytest.fixture
def desks(tmp_path: Path) -> Iterator[Desks]:
    """The usual people at their own machines (``custody.client``), on an in-process server."""
    with desks_in(tmp_path) as made:
        yield made


@pytest.fixture(scope="session")
def cli_runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """CLI calls forked from one process that imported the CLI once (support.cli)."""
    with forked_calls(tmp_path_factory.mktemp("cli-calls")):
        yield


@pytest.fixture(scope="session")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory, cli_runner: None) -> Iterator[Server]:
    """The real server on SQLite that the session's integration tests share."""
    with shared_server("sqlite", tmp_path_factory.mktemp("server-sqlite")) as server:
        yield server


@pytest.fixture(scope="session")
def postgresql_server(
    tmp_path_factory: pytest.TempPathFactory, cli_runner: None
) -> Iterator[Server]:
    """The real server on PostgreSQL that the session's integration tests share."""
    with shared_server("postgresql", tmp_path_factory.mktemp("server-postgresql")) as server:
        yield server


@pytest.fixture(scope="session")
def swift(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Swift]:
    """OpenStack Swift's S3 on loopback, started the first time a test asks, stopped at the
    session's end; skipped when it cannot start (failed under CI)."""
    with running_swift(tmp_path_factory.mktemp("swift")) as started:
        yield started


@pytest.fixture(scope="session")
def swift_server(
    tmp_path_factory: pytest.TempPathFactory, cli_runner: None, swift: Swift
) -> Iterator[Server]:
    """The real server on PostgreSQL and Swift's S3 (the national service's stack)."""
    with shared_server("swift", tmp_path_factory.mktemp("server-swift"), swift) as server:
        yield server


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest) -> Server:
    """The shared real server of each backend (``indirect`` parametrisation picks one)."""
    shared: Server = request.getfixturevalue(f"{request.param}_server")
    return shared


@pytest.fixture(scope="module")
def people(server: Server) -> People:
    """The cast at their own machines, logged in to ``server``, each with keys registered."""
    assert server.people is not None
    return server.people


@pytest.fixture
def browser(w: InProcess) -> Iterator[Browser]:
    """A browser stand-in (its own cookie jar) on the test module's in-process world ``w``."""
    b = Browser(w)
    yield b
    b.close()
