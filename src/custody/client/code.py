"""``custody code check``: is the code this server hands to browsers the code its log records?

The server names its release (``GET /api/v1/code``: each static asset's SHA-256 and the
``code:release`` entry that records them). This checks, against a checkpoint signed by the
log key, that the entry is in the log and lists exactly those assets; that each asset the
server serves now has the bytes the entry names; and that the sign-in page loads its scripts
and stylesheets with Subresource Integrity for those bytes, so a browser runs nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass

from custody.client.http import Api
from custody.client.transparency import logged_entry
from custody.errors import IntegrityError
from custody.ledger.events import EntryType
from custody.ledger.note import Verifier
from custody.protocol.ledger import CodeReleaseOut

_TAG = re.compile(r"<(?:script|link)\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r'\b(src|href|integrity)="([^"]*)"')
_REPORT = "browsers may be running code nobody can audit; report this to your security team"


@dataclass(frozen=True)
class CodeCheck:
    version: str
    digest: str
    ledger_index: int
    assets: int
    page_tags: int


def check_code(api: Api, verifier: Verifier, page: str = "/login") -> CodeCheck:
    release = api.get("/api/v1/code", CodeReleaseOut)
    entry = logged_entry(api, verifier, release.ledger_index, "the code release")
    logged = entry.data.get("assets")
    if entry.type != EntryType.CODE_RELEASE or logged != release.assets:
        raise IntegrityError(
            f"ledger entry {release.ledger_index} does not record the code this server serves",
            hint=_REPORT,
        )
    if entry.data.get("digest") != release.digest:
        raise IntegrityError("the release's digest differs from the logged one", hint=_REPORT)
    integrity = {}
    for path, sha256 in sorted(release.assets.items()):
        body = api.request("GET", path).content
        if hashlib.sha256(body).hexdigest() != sha256:
            raise IntegrityError(f"{path} is not the file the log records", hint=_REPORT)
        integrity[path] = "sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode()
    tags = _page_assets(api.request("GET", page).text)
    for path, given in tags:
        if path not in integrity:
            raise IntegrityError(f"{page} loads {path[:80]}, which the log does not record")
        if given != integrity[path]:
            raise IntegrityError(
                f"{page} loads {path} without the integrity of the logged file", hint=_REPORT
            )
    return CodeCheck(
        release.version, release.digest, release.ledger_index, len(integrity), len(tags)
    )


def _page_assets(html: str) -> list[tuple[str, str | None]]:
    """Each script and stylesheet a page loads from this server, with its integrity value."""
    found = []
    for tag in _TAG.findall(html):
        attrs = dict(_ATTR.findall(tag))
        path = attrs.get("src") or attrs.get("href")
        if path and path.startswith("/"):
            found.append((path, attrs.get("integrity")))
    return found
