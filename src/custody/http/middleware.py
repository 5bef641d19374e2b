"""Security headers on every response, and limits on header and body sizes (ASVS V14.4, V13.1).

Headers a response sets itself are kept: that is how the web pages carry their
own Content-Security-Policy while every JSON answer keeps the strict one.

A plain ASGI middleware, outermost of ours. Starlette's own error handler sits
outside it, so Guard answers an unexpected exception itself (a JSON 500, the
exception logged, nothing of it told to the client; a browser's request gets the
web's error page instead): every response, errors included, carries the headers.
JSON bodies are read here up to ``max_json_bytes`` and refused beyond it (413)
before any route sees them; tus PATCH bodies stream past, bounded by the upload's
declared ``Upload-Length`` in the blob store instead.
"""

from __future__ import annotations

import logging

from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from custody.http.errors import coded, error_payload, page_for
from custody.protocol.codes import ErrorCode

MAX_HEADER_BYTES = 8 * 1024
MAX_HEADERS_BYTES = 32 * 1024
_STREAMED = ("PATCH", "/api/v1/uploads/")
# More digits than this is more than any body we accept, and int() on it is not free.
_MAX_LENGTH_DIGITS = 18
INTERNAL_ERROR = (
    "the server failed while answering this request; it has been logged. "
    "Try again, and tell the server's operator if it keeps happening"
)

log = logging.getLogger("custody.api")


# The web application's pages (custody.web) send this instead: their own script and
# stylesheet, forms to themselves, nothing inline, never framed; their own service worker
# (worker-src), and media from their own origin only (media-src: the player's <video>, fed
# decrypted by that service worker). A response that sets no policy of its own — every
# JSON one — gets the API's, which allows nothing at all.
WEB_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; connect-src 'self'; "
    "media-src 'self'; worker-src 'self'"
)


def security_headers(tls: bool) -> list[tuple[bytes, bytes]]:
    headers = [
        # An API: nothing may be loaded, framed or submitted from its responses.
        (
            b"content-security-policy",
            b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        ),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
        (b"cross-origin-resource-policy", b"same-origin"),
    ]
    if tls:
        headers.append((b"strict-transport-security", b"max-age=63072000; includeSubDomains"))
    return headers


class Guard:
    """Adds the security headers; refuses oversize headers (431) and JSON bodies (413).

    An exception that escapes the app before it answered becomes a JSON 500 here.
    """

    def __init__(self, app: ASGIApp, *, tls: bool, max_body: int) -> None:
        self.app = app
        self.headers = security_headers(tls)
        self.max_body = max_body
        self._too_large = f"a request body may have {max_body} bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [h for h in self.headers if h[0] not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        try:
            await self._guard(scope, receive, send_with_headers)
        except ClientDisconnect:
            # The client went away (an interrupted upload, kept for resuming): nobody to
            # answer, and nothing went wrong here.
            return
        except Exception:  # the last line of defence: answered here, with the headers
            if started:
                raise  # part of the answer is out; the server drops the connection and logs it
            log.exception("unexpected error answering %s %s", scope["method"], scope["path"])
            if not await _page(scope, receive, send_with_headers):
                await _refuse(send_with_headers, ErrorCode.SERVER_ERROR, INTERNAL_ERROR)

    async def _guard(self, scope: Scope, receive: Receive, send_with_headers: Send) -> None:
        raw_headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
        sizes = [len(k) + len(v) for k, v in raw_headers]
        if any(s > MAX_HEADER_BYTES for s in sizes) or sum(sizes) > MAX_HEADERS_BYTES:
            await _refuse(
                send_with_headers, ErrorCode.HEADERS_TOO_LARGE, "request headers are too large"
            )
            return
        method, path = scope["method"], scope["path"]
        if method == _STREAMED[0] and path.startswith(_STREAMED[1]):
            await self.app(scope, receive, send_with_headers)
            return
        length = dict(raw_headers).get(b"content-length", b"")
        if length.isdigit() and (len(length) > _MAX_LENGTH_DIGITS or int(length) > self.max_body):
            await _refuse(send_with_headers, ErrorCode.PAYLOAD_TOO_LARGE, self._too_large)
            return
        body, more = bytearray(), True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_body:
                await _refuse(send_with_headers, ErrorCode.PAYLOAD_TOO_LARGE, self._too_large)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send_with_headers)


async def _page(scope: Scope, receive: Receive, send: Send) -> bool:
    """A browser's request: the server error as the web's page (True if it was answered)."""
    if "app" not in scope:
        return False
    try:
        page = page_for(Request(scope, receive), coded(ErrorCode.SERVER_ERROR, INTERNAL_ERROR))
        if page is None:
            return False
        await page(scope, receive, send)
    except Exception:  # the page itself failed: the plain JSON answer, as before
        log.exception("the error page failed too")
        return False
    return True


async def _refuse(send: Send, code: ErrorCode, message: str) -> None:
    """An error answered before the app: the same table and envelope as every other."""
    status, payload = error_payload(code, message)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
