"""``custody code check``: what the server hands browsers is the release its log records,
proven against the pinned log key; a changed asset, a page loading code without integrity,
or a release the log does not list is refused."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from custody.client.code import check_code
from custody.client.trust import parse_log_key
from custody.errors import IntegrityError
from custody.ledger.note import Verifier
from custody.services.releases import publish
from support.client import Desks, Machine, with_content, with_json


@pytest.fixture
def officer(desks: Desks) -> Iterator[Machine]:
    publish(desks.app.ctx, desks.app.app.state.release)  # as `custody serve` does on start
    with desks.officer.active() as made:
        yield made


def _verifier(desks: Desks) -> Verifier:
    return parse_log_key(desks.app.world.log_key)


def test_the_served_code_is_the_logged_release(desks: Desks, officer: Machine) -> None:
    found = check_code(officer.api, _verifier(desks))
    release = desks.app.app.state.release
    assert found.digest == release.digest
    assert found.assets == len(release.sha256)
    assert found.page_tags >= 2  # the stylesheet and the script, each with integrity


def test_a_changed_asset_is_refused(desks: Desks, officer: Machine) -> None:
    officer.tampering.on(
        "GET", "/static/custody.js", lambda _, r: with_content(r, r.content + b"\nsteal();")
    )
    with pytest.raises(IntegrityError, match=r"/static/custody\.js is not the file the log"):
        check_code(officer.api, _verifier(desks))


def test_a_page_without_integrity_is_refused(desks: Desks, officer: Machine) -> None:
    def strip(_: httpx.Request, response: httpx.Response) -> httpx.Response:
        return with_content(response, re.sub(rb' integrity="[^"]*"', b"", response.content))

    officer.tampering.on("GET", "/login", strip)
    with pytest.raises(IntegrityError, match="without the integrity of the logged file"):
        check_code(officer.api, _verifier(desks))


def test_a_release_the_log_does_not_record_is_refused(desks: Desks, officer: Machine) -> None:
    def other_assets(_: httpx.Request, response: httpx.Response) -> httpx.Response:
        body = response.json()
        body["assets"]["/static/custody.js"] = "0" * 64
        return with_json(response, body)

    officer.tampering.on("GET", "/api/v1/code", other_assets)
    with pytest.raises(IntegrityError, match="does not record the code this server serves"):
        check_code(officer.api, _verifier(desks))
