"""Making (or upgrading) a server's data: the schema, the log's head, the server secret and
the log's signing key. ``custody admin init`` runs it; so do the tests' worlds."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from custody.crypto.signing import SigningKey
from custody.errors import InvalidInput, LocalError
from custody.files import write_private
from custody.ledger.note import Signer, is_valid_name
from custody.server.context import load_log_signer, operator_context
from custody.services import accounts
from custody.settings import Settings
from custody.store.db import make_engine, make_sessionmaker, transaction
from custody.store.ledger_store import init_ledger
from custody.store.migrate import upgrade
from custody.store.server_secret import create_server_secret


@dataclass(frozen=True)
class Initialised:
    signer: Signer
    made_log_key: bool  # False: the data was there already, and upgraded
    made_secret: bool
    recovery_keys_logged: int  # organisations from before recovery keys were logged


def initialise(settings: Settings, origin: str | None = None) -> Initialised:
    """Create or upgrade everything a server needs under ``settings``; idempotent."""
    secrets_dir = settings.log_key_path.parent
    try:
        secrets_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise LocalError(f"cannot create {secrets_dir}: {exc.strerror}") from exc
    engine = make_engine(
        settings.effective_database_url, synchronous=settings.sqlite_synchronous
    )
    try:
        upgrade(engine)
        with transaction(make_sessionmaker(engine)) as session:
            init_ledger(session)
    finally:
        engine.dispose()
    made_secret = create_server_secret(settings)
    if settings.log_key_path.exists():
        _, signer = load_log_signer(settings)
        if signer is None:
            raise LocalError(f"cannot read the log key {settings.log_key_path}")
        # Organisations made before recovery keys were logged: log them now (clients wrap
        # only for a recovery key the ledger shows).
        with operator_context(settings) as ctx:
            logged = accounts.log_recovery_keys(ctx)
        return Initialised(signer, False, made_secret, logged)
    origin = origin or f"custody.local/{secrets.token_hex(4)}"
    if not is_valid_name(origin):
        raise InvalidInput(
            f"{origin!r} cannot name a log", hint="use letters, digits, '.', '/' and '-'"
        )
    signer = Signer(origin, SigningKey.generate())
    # The origin first: the key's presence is what says the log was made (above), so an init
    # killed between the two makes both again rather than keeping a key without its origin.
    write_private(settings.log_origin_path, (origin + "\n").encode())
    write_private(settings.log_key_path, (signer.to_skey() + "\n").encode())
    return Initialised(signer, True, made_secret, 0)
