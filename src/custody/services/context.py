"""What every use case is handed: sessions, blob store, clock, settings, log signer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from custody.clock import Clock
from custody.ledger.note import Signer
from custody.settings import Settings
from custody.store.blobs import BlobStore
from custody.store.db import transaction


@dataclass(frozen=True)
class ServiceContext:
    settings: Settings
    sessions: sessionmaker[Session]
    blobs: BlobStore
    clock: Clock
    origin: str
    log_signer: Signer | None = None

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        with transaction(self.sessions) as session:
            yield session


@dataclass(frozen=True)
class Actor:
    """The authenticated person a request acts for."""

    user_id: str
    email: str
    org_id: str
    role: str
    address: str | None = None
    user_agent: str | None = None
