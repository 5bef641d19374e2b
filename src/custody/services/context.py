"""What every use case is handed: sessions, blob store, clock, settings, log signer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import NoReturn

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from custody.clock import Clock
from custody.errors import CustodyError
from custody.ledger.note import Signer
from custody.settings import Settings
from custody.store.blobs import BlobStore
from custody.store.db import transaction


class _Refusal(Exception):
    def __init__(self, error: CustodyError) -> None:
        super().__init__(error.message)
        self.error = error


def refuse(error: CustodyError) -> NoReturn:
    """Refuse with ``error``, keeping what the unit of work recorded of the refusal.

    Any other exception rolls a unit of work back; a refusal commits it first, so the
    ledger entry, security event or throttle count that records the refused attempt
    stands (CJIS: every access attempt), then ``error`` reaches the caller.
    """
    raise _Refusal(error)


@dataclass(frozen=True)
class ServiceContext:
    settings: Settings
    sessions: sessionmaker[Session]
    blobs: BlobStore
    clock: Clock
    origin: str
    log_signer: Signer | None = None
    # Keys for secrets sealed at rest derive from this (custody.store.server_secret).
    server_secret: bytes = field(default=b"", repr=False)

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One use case, one transaction: committed at the end, rolled back on an error,
        committed and then raised on a :func:`refuse`."""
        refused: CustodyError | None = None
        with transaction(self.sessions) as session:
            try:
                yield session
            except _Refusal as refusal:
                refused = refusal.error
        if refused is not None:
            raise refused

    def close(self) -> None:
        """Close the database connections this context opened (a command run in-process)."""
        engine = self.sessions.kw.get("bind")
        if isinstance(engine, Engine):
            engine.dispose()


@dataclass(frozen=True)
class Origin:
    """Where a request came from, as far as the server can tell: kept beside the ledger, never
    in it, cut to the lengths the tables keep (an empty value is none)."""

    address: str | None = None
    user_agent: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "address", (self.address or "")[:64] or None)
        object.__setattr__(self, "user_agent", (self.user_agent or "")[:200] or None)


@dataclass(frozen=True)
class Actor:
    """The authenticated person a request acts for."""

    user_id: str
    email: str
    org_id: str
    role: str
    origin: Origin = Origin()  # the API layer fills it in
    # The token the request came with: its id and scopes (custody.domain.policy.Scope values).
    token_id: str | None = None
    scopes: frozenset[str] = frozenset()
