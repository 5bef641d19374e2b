"""Errors as pages: a browser's request that fails (an unknown address, no session, a
refusal, a CSRF refusal, a bad form, a server error) gets an HTML page in the app's layout
with the status the JSON API would answer (custody.protocol.codes.HTTP_STATUS); the JSON API
and tus keep the JSON envelope."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import APIRouter

from custody.domain.people import Role
from custody.http.middleware import WEB_CONTENT_SECURITY_POLICY
from support.browser import BASE, Browser, web_world
from support.in_process import TUS, InProcess
from support.world import CPS

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture
def w(tmp_path: Path) -> Iterator[InProcess]:
    with web_world(tmp_path) as w:
        yield w


def is_page(response: object, status: int, heading: str) -> str:
    assert getattr(response, "status_code", None) == status, getattr(response, "text", "")
    headers = getattr(response, "headers", {})
    assert headers["content-type"].startswith("text/html")
    assert headers["content-security-policy"] == WEB_CONTENT_SECURITY_POLICY
    text: str = getattr(response, "text", "")
    assert '<link rel="stylesheet" href="/static/custody.css"' in text  # the app's layout
    assert f'<h1 id="error-title">{heading}</h1>' in text
    return text


def test_an_unknown_address_is_a_page_for_a_browser_and_json_for_the_api(
    browser: Browser,
) -> None:
    text = is_page(browser.client.get("/no/such/page", headers=HTML), 404, "Not found")
    assert "There is no page at this address." in text
    api = browser.client.get("/api/v1/no-such-thing", headers=HTML)
    assert api.status_code == 404
    assert api.json()["error"]["code"] == "not_found"
    script = browser.client.get("/no/such/page")  # a script's fetch (Accept: */*): JSON
    assert script.status_code == 404
    assert script.headers["content-type"] == "application/json"


def test_no_session_is_a_page_that_leads_to_sign_in(browser: Browser) -> None:
    text = is_page(browser.client.get("/inbox", headers=HTML), 401, "Please sign in")
    assert '<a href="/login">Sign in</a>' in text


def test_a_refusal_is_a_page(w: InProcess, browser: Browser) -> None:
    admin = w.add("admin", "admin@cps.example", CPS, Role.ADMIN)
    browser.sign_in(admin)
    text = is_page(browser.client.get("/send", headers=HTML), 403, "Not allowed")
    assert "ask your organisation admin" in text.lower()
    missing = browser.client.get("/transfers/00000000-0000-0000-0000-000000000000",
                                 headers=HTML)
    assert missing.status_code in (403, 404)
    assert missing.headers["content-type"].startswith("text/html")


def test_a_csrf_refusal_is_a_page(w: InProcess, browser: Browser) -> None:
    member = w.add("p", "p@cps.example", CPS, Role.PROSECUTOR)
    browser.sign_in(member)
    response = browser.client.post("/logout", data={"csrf": "wrong"},
                                   headers={**HTML, "Origin": BASE})
    text = is_page(response, 403, "Not allowed")
    assert "came from another site" in text


def test_a_bad_form_is_a_page(browser: Browser) -> None:
    response = browser.client.get("/inbox?page=not-a-number", headers=HTML)
    assert response.status_code in (400, 401)
    assert response.headers["content-type"].startswith("text/html")


def test_the_api_keeps_json_for_every_refusal(w: InProcess) -> None:
    response = w.client.get("/api/v1/me", headers=HTML)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    tus = w.client.post("/api/v1/uploads", headers={**HTML, **TUS})
    assert tus.status_code == 401
    assert tus.headers["content-type"] == "application/json"


def test_a_server_error_is_a_page_for_a_browser_and_json_for_the_api(w: InProcess) -> None:
    router = APIRouter()

    @router.get("/boom", include_in_schema=False)
    def boom() -> None:
        raise RuntimeError("a bug")

    @router.get("/api/v1/boom", include_in_schema=False)
    def api_boom() -> None:
        raise RuntimeError("a bug")

    w.app.include_router(router)
    text = is_page(w.client.get("/boom", headers=HTML), 500, "Something went wrong")
    assert "a bug" not in text  # nothing of the exception is told
    api = w.client.get("/api/v1/boom", headers=HTML)
    assert api.status_code == 500
    assert api.json()["error"]["code"] == "error"
    assert "a bug" not in api.text
