"""Code transparency: the browser code a server hands out is logged (one code:release entry per
release), served only as logged, and loaded by the pages with Subresource Integrity."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from custody.ledger.events import EntryType
from custody.server import create_app
from custody.web.assets import Asset, StaticAssets
from support.in_process import InProcess, TestClient, in_process

_TAGS = re.compile(r'(?:src|href)="(/static/[^"]+)" integrity="(sha256-[^"]+)"')


@pytest.fixture
def w(tmp_path: Path) -> Iterator[InProcess]:
    with in_process(tmp_path, f"sqlite:///{tmp_path / 'custody.db'}") as made:
        yield made


def _start(w: InProcess) -> None:
    """Start the app as `custody serve` does (its lifespan runs), then stop it."""
    with TestClient(w.app):
        pass


def test_a_release_is_logged_once_with_every_asset(w: InProcess) -> None:
    _start(w)
    _start(w)  # a restart with the same code logs nothing new
    (entry,) = w.world.entries(EntryType.CODE_RELEASE)
    served = w.client.get("/api/v1/code").json()
    assert entry.data["digest"] == served["digest"]
    assert entry.data["assets"] == served["assets"]
    assert "/static/custody.js" in served["assets"]
    for path, sha in served["assets"].items():
        body = w.client.get(path).content
        assert hashlib.sha256(body).hexdigest() == sha, path
    proven = w.client.get(f"/api/v1/ledger/entries/{served['ledger_index']}").json()
    assert base64.b64decode(proven["entry"]) == w.world.entry_bytes(served["ledger_index"])


def test_new_code_is_a_new_entry(w: InProcess, tmp_path: Path) -> None:
    _start(w)
    assets = StaticAssets.load()
    changed = dict(assets._assets)
    path = "/static/custody.js"
    changed[path] = Asset(path, changed[path].body + b"\n// release 2\n", changed[path].media_type)
    app = create_app(w.settings, clock=w.clock, background=False)
    app.state.static = StaticAssets(changed)
    app.state.release = app.state.static.release
    with TestClient(app) as client:
        second = client.get("/api/v1/code").json()
    releases = w.world.entries(EntryType.CODE_RELEASE)
    assert len(releases) == 2
    assert releases[1].data["assets"][path] == second["assets"][path]
    assert releases[0].data["assets"][path] != releases[1].data["assets"][path]


def test_pages_load_their_code_with_integrity_and_serve_nothing_else(w: InProcess) -> None:
    page = w.client.get("/login")
    tags = _TAGS.findall(page.text)
    assert {p for p, _ in tags} >= {"/static/custody.js", "/static/custody.css"}
    for path, integrity in tags:
        body = w.client.get(path).content
        assert integrity == "sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode()
    for path in ("/static/../settings.py", "/static/%2e%2e/__init__.py", "/static/nothing.js",
                 "/static/templates/base.html"):
        assert w.client.get(path).status_code == 404, path
