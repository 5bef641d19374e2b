"""The edge of the API: non-ASCII numbers in tus headers, and exceptions nobody expected.

Every answer — a refusal, a 500 from a bug — is JSON in the API's error shape and carries
the security headers, and a 500 tells the client nothing about what went wrong inside.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest
from starlette.applications import Starlette
from starlette.exceptions import StarletteDeprecationWarning
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

with warnings.catch_warnings():
    # Starlette's TestClient wants "httpx2"; httpx is what this project uses and pins.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from custody.domain.people import Role
from custody.http.middleware import INTERNAL_ERROR, Guard
from custody.services import uploads
from support.in_process import TUS, InProcess, in_process
from support.world import CPS, POLICE

# What a client must never see of an exception.
INSIDE_DETAIL = "hunter2 at /srv/custody/secrets"
# Digits to str.isdigit() but not to int(), sent as the latin-1 bytes a client puts on the
# wire (Starlette decodes header values as latin-1): ², ³, ¹.
NON_ASCII_DIGITS = [b"\xb2", b"1\xb3", b"\xb9"]
# ASCII, but more digits than int() converts from text (4300): a ValueError, not a number.
TOO_MANY_DIGITS = b"9" * 5000
NOT_NUMBERS = pytest.mark.parametrize(
    "value",
    [*NON_ASCII_DIGITS, TOO_MANY_DIGITS],
    ids=["superscript-2", "1-superscript-3", "superscript-1", "5000-digits"],
)


def _assert_guarded(response: Any) -> None:
    """The security headers Guard adds, whatever the status."""
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"


# ── Guard alone, around a tiny app whose routes fail ────────────────────────────────────────


def _boom(_: Request) -> NoReturn:
    raise RuntimeError(INSIDE_DETAIL)


def _boom_mid_stream(_: Request) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        yield b"first part"
        raise RuntimeError(INSIDE_DETAIL)

    return StreamingResponse(body(), media_type="text/plain")


def _guarded_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/boom", _boom, methods=["GET", "POST"]),
            Route("/boom-mid-stream", _boom_mid_stream),
        ],
        middleware=[Middleware(Guard, tls=False, max_body=1024)],
    )


@pytest.fixture
def guarded() -> Iterator[TestClient]:
    with TestClient(_guarded_app(), raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_unexpected_exception_is_a_json_500_with_the_security_headers(
    guarded: TestClient, caplog: pytest.LogCaptureFixture, method: str
) -> None:
    with caplog.at_level(logging.ERROR, logger="custody.api"):
        response = guarded.request(method, "/boom", content=b"{}" if method == "POST" else None)
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error": {"code": "error", "message": INTERNAL_ERROR}}
    _assert_guarded(response)
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text
    assert "Traceback" not in response.text
    logged = [r for r in caplog.records if r.exc_info and r.exc_info[0] is RuntimeError]
    assert len(logged) == 1, caplog.text
    assert f"{method} /boom" in logged[0].getMessage()


def test_an_exception_after_the_answer_started_is_not_answered_twice() -> None:
    # The status line and headers are out: a second response start would be a protocol
    # error, so Guard lets the exception go on to the server, which drops the connection.
    with (
        TestClient(_guarded_app(), raise_server_exceptions=True) as client,
        pytest.raises(RuntimeError, match="hunter2"),
    ):
        client.get("/boom-mid-stream")


def test_a_client_that_went_away_is_neither_answered_nor_logged_as_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # An interrupted tus PATCH: the body streams past Guard, and the client disconnects.
    async def read_all(request: Request) -> NoReturn:
        await request.body()
        raise AssertionError("the body cannot be complete")

    app = Starlette(routes=[Route("/api/v1/uploads/u1", read_all, methods=["PATCH"])],
                    middleware=[Middleware(Guard, tls=False, max_body=1024)])
    arriving = [{"type": "http.request", "body": b"part", "more_body": True},
                {"type": "http.disconnect"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return arriving.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "PATCH", "path": "/api/v1/uploads/u1", "headers": [],
             "query_string": b"", "root_path": "", "scheme": "http", "server": ("t", 80),
             "client": ("127.0.0.1", 1), "http_version": "1.1", "asgi": {"version": "3.0"}}
    with caplog.at_level(logging.ERROR):
        asyncio.run(app(scope, receive, send))
    assert sent == []
    assert caplog.records == []


def test_a_content_length_with_thousands_of_digits_is_413_not_500(guarded: TestClient) -> None:
    response = guarded.post(
        "/boom", content=b"", headers={"Content-Length": TOO_MANY_DIGITS.decode()}
    )
    assert response.status_code == 413
    _assert_guarded(response)


# ── the real app ────────────────────────────────────────────────────────────────────────────


@pytest.fixture
def w(tmp_path: Path) -> Iterator[InProcess]:
    with in_process(tmp_path, f"sqlite:///{tmp_path / 'custody.db'}") as made:
        officer = made.add("officer", "dc.jones@tvp.police.example", POLICE, Role.OFFICER)
        prosecutor = made.add("prosecutor", "a.patel@cps.example", CPS, Role.PROSECUTOR)
        made.register_keys(officer)
        made.register_keys(prosecutor)
        yield made


def _metadata(item_id: str) -> str:
    return "item " + base64.b64encode(item_id.encode()).decode()


@NOT_NUMBERS
def test_tus_upload_length_must_be_ascii_decimal(w: InProcess, value: bytes) -> None:
    officer = w.members["officer"]
    headers: dict[str, Any] = {**officer.auth, **TUS, "Upload-Length": value,
                               "Upload-Metadata": _metadata("any-item")}
    response = w.client.post("/api/v1/uploads", headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_input"
    assert "Upload-Length must be a non-negative integer in ASCII digits" in (
        response.json()["error"]["message"]
    )
    _assert_guarded(response)


@NOT_NUMBERS
def test_tus_upload_offset_must_be_ascii_decimal(w: InProcess, value: bytes) -> None:
    officer = w.members["officer"]
    upload = w.transfer(officer, CPS, "47TV0000009", send=False)["upload"]
    headers: dict[str, Any] = {**officer.auth, **TUS, "Upload-Offset": value,
                               "Content-Type": "application/offset+octet-stream"}
    response = w.client.patch(f"/api/v1/uploads/{upload}", content=b"hello", headers=headers)
    assert response.status_code == 400, response.text
    assert "Upload-Offset must be a non-negative integer in ASCII digits" in response.text
    _assert_guarded(response)
    head = w.client.head(f"/api/v1/uploads/{upload}", headers={**officer.auth, **TUS})
    assert head.headers["Upload-Offset"] == "0"


def test_a_bug_in_the_real_app_is_a_json_500_with_the_security_headers(
    w: InProcess, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_: object) -> NoReturn:
        raise RuntimeError(INSIDE_DETAIL)

    monkeypatch.setattr(uploads, "create", broken)
    officer = w.members["officer"]
    headers = {**officer.auth, **TUS, "Upload-Length": "64", "Upload-Metadata": _metadata("x")}
    with caplog.at_level(logging.ERROR, logger="custody.api"):
        response = w.client.post("/api/v1/uploads", headers=headers)
    assert response.status_code == 500
    assert response.json() == {"error": {"code": "error", "message": INTERNAL_ERROR}}
    assert "hunter2" not in response.text
    _assert_guarded(response)
    assert any(r.exc_info and r.exc_info[0] is RuntimeError for r in caplog.records)
