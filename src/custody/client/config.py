"""The client's own files: the session token, the key file, resume state, the server last
logged in to. All 0600."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from custody.errors import LocalError, NotAuthenticated
from custody.files import write_private


def home() -> Path:
    configured = os.environ.get("CUSTODY_HOME")
    path = Path(configured) if configured else Path.home() / ".config" / "custody"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


@dataclass(frozen=True)
class Session:
    """The token ``custody login`` keeps. The log key it trusts is not here but pinned apart
    (``custody.client.trust``), so no login answer can ever rewrite it."""

    server: str
    token: str
    expires_at: str
    user_id: str
    email: str
    org: str
    role: str

    @property
    def key_file(self) -> Path:
        return home() / "keys" / f"{self.user_id}.age"

    def save(self) -> None:
        write_private(home() / "session.json", json.dumps(asdict(self), indent=2).encode())

    @classmethod
    def load(cls) -> Session:
        path = home() / "session.json"
        try:
            data = json.loads(path.read_text())
            return cls(**{f.name: data[f.name] for f in fields(cls)})
        except FileNotFoundError:
            raise NotAuthenticated(
                "you are not logged in", hint="run `custody login --server URL`"
            ) from None
        except (ValueError, TypeError, KeyError) as exc:
            raise LocalError(f"{path} is damaged", hint="log in again: custody login") from exc


def remembered_server() -> str | None:
    """The server of the last successful login here (``custody login`` needs no --server after
    the first), or None."""
    try:
        data = json.loads((home() / "config.json").read_text())
    except (FileNotFoundError, ValueError):
        return None
    server = data.get("server") if isinstance(data, dict) else None
    return server if isinstance(server, str) and server else None


def remember_server(server: str) -> None:
    write_private(home() / "config.json", json.dumps({"server": server}, indent=2).encode())


def forget_session() -> bool:
    """Remove the saved session (the token); the keys, the pinned log key and the remembered
    server stay. True if there was one."""
    path = home() / "session.json"
    existed = path.exists()
    path.unlink(missing_ok=True)
    return existed
