"""The server secret: 32 random bytes made by ``admin init``, kept 0600, never logged.

Keys for sealing small secrets at rest (TOTP secrets) are derived from it with
purpose labels (``custody.crypto.at_rest``). Outside development mode the
server refuses to start without it, or with one other users can read.
"""

from __future__ import annotations

import os
import secrets

from custody.errors import LocalError
from custody.settings import Settings

SECRET_BYTES = 32
# Development mode only, so `custody serve --mode development` works from an empty folder.
_DEVELOPMENT_SECRET = b"custody development secret, never for production use"


def create_server_secret(settings: Settings) -> bool:
    """Write a new server secret unless one exists; True if one was made."""
    path = settings.server_secret_path
    if path.exists():
        return False
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Written whole and synced beside it, then linked into place: a process killed halfway
    # leaves no secret (the next init makes one), never an empty one the server refuses.
    tmp = path.with_name(f"{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(SECRET_BYTES) + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)  # never replaces a secret another init made meanwhile
        except FileExistsError:
            return False
    finally:
        tmp.unlink(missing_ok=True)
    return True


def load_server_secret(settings: Settings) -> bytes:
    """The secret from CUSTODY_SECRET_KEY or the file; refused if missing, weak or exposed."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    path = settings.server_secret_path
    production = settings.mode != "development"
    if not path.exists():
        if not production:
            return _DEVELOPMENT_SECRET
        raise LocalError(
            f"the server secret {path} is missing",
            hint="run `custody admin init` (it makes one), or set CUSTODY_SECRET_KEY",
        )
    if production and path.stat().st_mode & 0o077:
        raise LocalError(
            f"the server secret {path} is readable by other users",
            hint=f"chmod 600 {path} (and consider it exposed: re-enrol second factors)",
        )
    text = path.read_text().strip()
    try:
        value = bytes.fromhex(text)
    except ValueError:
        value = b""
    if len(value) < SECRET_BYTES:
        raise LocalError(
            f"the server secret {path} is empty or damaged",
            hint="restore it from the backup; a new one locks out every second factor",
        )
    return value
