"""Settings to a :class:`~custody.services.context.ServiceContext`: database, blobs, clock, keys."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from custody.clock import Clock, SystemClock
from custody.errors import LocalError
from custody.ledger.note import Signer
from custody.services.context import ServiceContext
from custody.settings import Settings
from custody.store.blobs import open_blob_store
from custody.store.db import make_engine, make_sessionmaker
from custody.store.migrate import require_current_schema
from custody.store.server_secret import load_server_secret


def load_log_signer(settings: Settings) -> tuple[str, Signer | None]:
    """The log's origin and signing key, as ``custody admin init`` left them."""
    origin = (
        settings.log_origin_path.read_text().strip() if settings.log_origin_path.exists() else ""
    )
    path = settings.log_key_path
    if not path.exists():
        return origin, None
    if settings.mode == "production" and path.stat().st_mode & 0o077:
        raise LocalError(
            f"the log signing key {path} is readable by other users",
            hint=f"chmod 600 {path} (and check who could have copied it)",
        )
    return origin, Signer.from_skey(path.read_text().strip())


def build_context(settings: Settings, clock: Clock | None = None) -> ServiceContext:
    """Everything the services need, from ``settings``; refuses a schema that is not current."""
    engine = make_engine(settings.effective_database_url)
    require_current_schema(engine)
    origin, signer = load_log_signer(settings)
    return ServiceContext(
        settings=settings,
        sessions=make_sessionmaker(engine),
        blobs=open_blob_store(settings.effective_blob_url),
        clock=clock or SystemClock(),
        origin=origin,
        log_signer=signer,
        server_secret=load_server_secret(settings),
    )


@contextmanager
def operator_context(settings: Settings) -> Iterator[ServiceContext]:
    """The context for one operator command run on the server's machine; its database
    connections close when the command ends."""
    ctx = build_context(settings)
    try:
        yield ctx
    finally:
        ctx.close()
