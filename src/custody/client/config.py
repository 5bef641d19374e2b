"""The client's own files: the session token, the key file, resume state. All 0600."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from custody.errors import LocalError, NotAuthenticated


def home() -> Path:
    configured = os.environ.get("CUSTODY_HOME")
    path = Path(configured) if configured else Path.home() / ".config" / "custody"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner can read, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise LocalError(f"cannot write {path}: {exc.strerror}") from exc


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
