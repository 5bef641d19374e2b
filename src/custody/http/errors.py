"""The one place custody errors become HTTP answers, by the table in ``custody.protocol``.

:func:`error_response` is what every HTTP answer of an error goes through: the API's
exception handlers below, the tus endpoint, and the web pages' JSON errors. The
middleware, which answers before the app, uses :func:`error_payload` with the same table.
A router whose errors need more than the envelope (tus's headers, a web page) uses an
:class:`AnsweringRoute` of its own.

A browser's request outside the JSON API (an unknown address, a bad form, a server error)
is answered by the web application's error page instead, with the same status by the same
table: :func:`install` takes the web's renderer (``pages``), which says which requests are
a browser's (it answers None for the others, which keep JSON).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from custody.errors import CustodyError, RangeNotSatisfiable
from custody.protocol.codes import HTTP_STATUS, ErrorCode
from custody.protocol.errors import envelope

log = logging.getLogger("custody.api")

# Starlette's own refusals (routing misses, bad bodies), as error codes.
_STARLETTE = {
    400: ErrorCode.INVALID_INPUT,
    401: ErrorCode.NOT_AUTHENTICATED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
}


# The web application's error page for a request, or None if the request is not a
# browser's (the JSON API, tus, a script): those keep the JSON envelope.
PageRenderer = Callable[[Request, CustodyError], Response | None]


def coded(code: ErrorCode, message: str, hint: str | None = None) -> CustodyError:
    """An error of ``code`` (for an answer made outside any service: routing, parsing)."""
    exc = CustodyError(message, hint=hint)
    exc.code = code
    return exc


def status_of(code: ErrorCode) -> int:
    return HTTP_STATUS[code]


def error_payload(code: ErrorCode, message: str, hint: str | None = None) -> tuple[int, bytes]:
    """The status and JSON body of an error, for code that writes bytes itself."""
    return status_of(code), json.dumps(envelope(code, message, hint)).encode()


def error_response(exc: CustodyError, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """The answer to ``exc``: its status by the table, the error envelope, and the headers
    its kind needs (a challenge for 401, the size for 416)."""
    status = status_of(exc.code)
    extra = dict(headers or {})
    if status == 401:
        extra.setdefault("WWW-Authenticate", "Bearer")
    if isinstance(exc, RangeNotSatisfiable):
        extra["Content-Range"] = f"bytes */{exc.size}"
    if status == 503:  # a part of the server is down for a moment: when to ask again
        extra.setdefault("Retry-After", "5")
    return JSONResponse(envelope(exc.code, exc.message, exc.hint), status, headers=extra or None)


class AnsweringRoute(APIRoute):
    """A route that answers a custody error raised anywhere in it (its dependencies and the
    policy check included) with :meth:`answer`, before the app's handlers see it."""

    def answer(self, request: Request, exc: CustodyError) -> Response:
        return error_response(exc)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except CustodyError as exc:
                return self.answer(request, exc)

        return handle


# What a browser's page says for Starlette's own refusals (its details are terse English).
_PAGE_MESSAGES = {
    404: "there is no page at this address",
    405: "this page cannot be used that way",
}


def page_for(request: Request, exc: CustodyError) -> Response | None:
    """The web's error page for ``exc`` if ``request`` is a browser's, else None."""
    pages: PageRenderer | None = getattr(request.app.state, "error_pages", None)
    return pages(request, exc) if pages is not None else None


def install(app: FastAPI, pages: PageRenderer | None = None) -> None:
    """The app's handlers of errors no route answered; ``pages``: the web's error pages."""
    app.state.error_pages = pages

    @app.exception_handler(CustodyError)
    async def _custody(request: Request, exc: CustodyError) -> Response:
        return page_for(request, exc) or error_response(exc)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        code = _STARLETTE.get(exc.status_code, ErrorCode.SERVER_ERROR)
        message = _PAGE_MESSAGES.get(exc.status_code, str(exc.detail))
        page = page_for(request, coded(code, message))
        if page is not None:
            return page
        body = envelope(code, str(exc.detail))
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        message = f"{where}: {first.get('msg')}" if where else str(first.get("msg"))
        code = ErrorCode.INVALID_INPUT
        page = page_for(request, coded(code, message))
        if page is not None:
            return page
        return JSONResponse(envelope(code, message), status_code=status_of(code))
