"""Identifiers that arrive from the server are checked before they name a file or a URL.

The client builds paths (``downloads/<item>.age.part``) and request URLs from ids the
server sends. A hostile server could send ``../../../x`` or an absolute URL on another
host (which would receive this client's bearer token), so every id must have the one
form custody ever makes: a lower-case UUID, or a tus upload path on the same server.
"""

from __future__ import annotations

import re

from custody.errors import IntegrityError

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_UPLOAD_PATH = re.compile(r"/api/v1/uploads/[0-9a-f]{32}")
_HINT = "do not trust this server's answers; report it to your security team"


def server_id(value: object, what: str) -> str:
    """``value`` if it is a UUID as custody makes them; :class:`IntegrityError` otherwise."""
    if not isinstance(value, str) or not _UUID.fullmatch(value):
        raise IntegrityError(f"the server sent a malformed {what}: {str(value)[:60]!r}", hint=_HINT)
    return value


def upload_path(value: object) -> str:
    """A tus upload's ``Location``: a path on this server, never another host's URL."""
    if not isinstance(value, str) or not _UPLOAD_PATH.fullmatch(value):
        raise IntegrityError(
            f"the server sent a malformed upload location: {str(value)[:80]!r}", hint=_HINT
        )
    return value
