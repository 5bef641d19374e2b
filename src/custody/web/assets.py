"""The static assets the pages load — the browser's code — with their digests.

Every file under ``custody/web/static`` is an asset, read once when the app is made: served
at ``/static/<path>`` with the type its suffix says, loaded by the pages with Subresource
Integrity (``integrity="sha256-…"``), and listed with its SHA-256 in the ``code:release``
ledger entry of this release (``custody.services.releases``). Nothing else is served from
there, and nothing is read from disk per request.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

from custody import __version__
from custody.errors import NotFound
from custody.services.releases import Assets

_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".txt": "text/plain; charset=utf-8",
}
PREFIX = "/static/"


@dataclass(frozen=True)
class Asset:
    path: str  # /static/app/custody-app.js
    body: bytes
    media_type: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

    @property
    def integrity(self) -> str:
        """The Subresource Integrity value a page puts on the tag that loads it."""
        digest = hashlib.sha256(self.body).digest()
        return "sha256-" + base64.b64encode(digest).decode("ascii")


class StaticAssets:
    """Every asset of this release, by its path."""

    def __init__(self, assets: dict[str, Asset]) -> None:
        self._assets = assets

    @classmethod
    def load(cls) -> StaticAssets:
        found: dict[str, Asset] = {}
        _walk(resources.files("custody.web").joinpath("static"), "", found)
        return cls(found)

    def get(self, path: str) -> Asset:
        asset = self._assets.get(PREFIX + path.lstrip("/"))
        if asset is None:
            raise NotFound(f"no file {path[:80]}")
        return asset

    def integrity(self, path: str) -> str:
        return self.get(path).integrity

    @property
    def release(self) -> Assets:
        return Assets(__version__, {p: a.sha256 for p, a in sorted(self._assets.items())})


def _walk(folder: Traversable, prefix: str, found: dict[str, Asset]) -> None:
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        name = prefix + entry.name
        if entry.is_dir():
            _walk(entry, name + "/", found)
            continue
        suffix = "." + entry.name.rsplit(".", 1)[-1] if "." in entry.name else ""
        if entry.name.startswith(".") or suffix not in _TYPES:
            continue  # no dot files, no source maps, nothing a page does not load
        found[PREFIX + name] = Asset(PREFIX + name, entry.read_bytes(), _TYPES[suffix])
