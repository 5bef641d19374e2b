"""Database engine, sessions and the declarative base.

SQLite (the embedded default) and PostgreSQL run the same models and
migrations. On SQLite every transaction starts with ``BEGIN IMMEDIATE``: WAL
allows one writer, and taking the write lock up front is what lets the ledger
sequencer read the head and append without a lost update. On PostgreSQL the
sequencer takes a row lock instead (``SELECT ... FOR UPDATE``).
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    DateTime,
    MetaData,
    TypeDecorator,
    create_engine,
    event,
    select,
)
from sqlalchemy.engine import Dialect, Engine, make_url
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute, Session, sessionmaker

from custody.errors import CustodyError, ServerUnavailable

K = TypeVar("K")
V = TypeVar("V")
# Constraint names that Alembic can address the same way on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

log = logging.getLogger("custody.store")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: dict[Any, Any] = {datetime: UTCDateTime()}  # noqa: RUF012 - SQLAlchemy API


def new_id() -> str:
    """A fresh random identifier (UUID4, as text so it reads the same everywhere)."""
    return str(uuid.uuid4())


def make_engine(url: str, *, echo: bool = False, synchronous: str = "full") -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys, immediate transactions, and its
    log synced at every commit unless ``synchronous`` is "normal" (tests)."""
    if url.startswith("sqlite"):
        _create_private_sqlite_file(url)
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        _configure_sqlite(engine, "NORMAL" if synchronous == "normal" else "FULL")
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, echo=echo, pool_pre_ping=True)


def _create_private_sqlite_file(url: str) -> None:
    """Create the database file 0600 before SQLite would (0644, less the umask).

    SQLite gives the -wal and -shm files the database file's mode, so this one
    file decides all three. An existing file is left as it is.
    """
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.parent.is_dir():
        return  # SQLite refuses to open it with its own message; nothing to create here
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _configure_sqlite(engine: Engine, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")  # FULL or NORMAL, nothing else
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception.

    A database that does not answer (restarting, unreachable, a connection cut, SQLite
    locked past its timeout) is :class:`ServerUnavailable` — a 503 that says to try again —
    not an internal error; nothing of the unit of work was committed."""
    try:
        with factory() as session, session.begin():
            yield session
    except (OperationalError, InterfaceError) as exc:
        log.warning("the database did not answer (%s); answered 503", type(exc).__name__)
        raise ServerUnavailable(
            "the server's database did not answer; nothing was changed",
            hint="try again in a few seconds",
        ) from exc


def check_database(factory: sessionmaker[Session]) -> None:
    """Raise :class:`CustodyError` unless the database answers a query now (readiness)."""
    try:
        with factory() as session:
            session.execute(select(1))
    except SQLAlchemyError as exc:
        raise CustodyError(
            f"the database did not answer ({type(exc).__name__})",
            hint="check CUSTODY_DATABASE_URL and that the database is up") from exc


def utcnow() -> datetime:
    return datetime.now(UTC)


def lookup(
    session: Session,
    key: InstrumentedAttribute[K],
    value: InstrumentedAttribute[V],
    among: Iterable[K],
    *where: ColumnElement[bool],
) -> dict[K, V]:
    """``value`` by ``key`` for the rows whose ``key`` is ``among`` these (and ``where``), in
    one query: how a view names many ids at once (people by address, units by name)."""
    return dict(session.execute(select(key, value).where(key.in_(among), *where)).all())
