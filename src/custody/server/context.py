"""Settings to a :class:`~custody.services.context.ServiceContext`: database, blobs, clock, keys."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from custody import faults
from custody.clock import Clock, SystemClock
from custody.errors import LocalError
from custody.ledger.note import Signer
from custody.services.context import ServiceContext
from custody.settings import Settings
from custody.store.blobs import BlobStore, open_blob_store
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


def open_blobs(settings: Settings) -> BlobStore:
    """The blob store ``CUSTODY_BLOB_URL`` names, reached as ``CUSTODY_S3_*`` say."""
    url = settings.effective_blob_url
    if not url.startswith("s3:"):
        return open_blob_store(url)
    from custody.store.s3 import MIB, S3Config  # noqa: PLC0415 - boto3 only when S3 is used

    secret = settings.s3_secret_access_key
    return open_blob_store(url, S3Config(
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        access_key_id=settings.s3_access_key_id,
        secret_access_key=secret.get_secret_value() if secret is not None else None,
        addressing_style=settings.s3_addressing_style,
        part_size=settings.s3_part_size_mib * MIB,
        max_parts=settings.s3_max_parts,
    ))


def build_context(settings: Settings, clock: Clock | None = None) -> ServiceContext:
    """Everything the services need, from ``settings``; refuses a schema that is not current."""
    faults.arm(settings.mode)  # CUSTODY_FAULT_POINTS, development only (tests/faults)
    engine = make_engine(
        settings.effective_database_url, synchronous=settings.sqlite_synchronous
    )
    require_current_schema(engine)
    origin, signer = load_log_signer(settings)
    return ServiceContext(
        settings=settings,
        sessions=make_sessionmaker(engine),
        blobs=open_blobs(settings),
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
