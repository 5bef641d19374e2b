"""The one place custody errors become HTTP responses."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from custody.errors import CustodyError, LocalError

log = logging.getLogger("custody.api")


def error_body(code: str, message: str, hint: str | None = None) -> dict[str, dict[str, str]]:
    body = {"code": code, "message": message}
    if hint:
        body["hint"] = hint
    return {"error": body}


def install(app: FastAPI) -> None:
    @app.exception_handler(CustodyError)
    async def _custody(_: Request, exc: CustodyError) -> JSONResponse:
        status = 507 if isinstance(exc, LocalError) else exc.status_code
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse(
            error_body(exc.code, exc.message, exc.hint), status_code=status, headers=headers
        )

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        # Routing misses (404, 405) and unparseable bodies (400), in our own error shape.
        code = {400: "invalid_input", 401: "not_authenticated", 403: "forbidden"}.get(
            exc.status_code, "not_found" if exc.status_code == 404 else "error"
        )
        return JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        message = f"{where}: {first.get('msg')}" if where else str(first.get("msg"))
        return JSONResponse(error_body("invalid_input", message), status_code=400)
