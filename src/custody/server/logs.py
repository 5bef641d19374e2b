"""Structured logs (``CUSTODY_LOG_FORMAT=json``): one JSON object a line, with a request id.

A line carries what the code wrote — its message *template* (``"alert %s to %s failed"``)
and only the numbers among its arguments — never the strings interpolated into it: those
may be addresses, reasons, file names or a token someone pasted, and logs are copied to
more places than the database. Each request gets one ``custody.access`` line (method,
route template, status, bytes, milliseconds) and an id, also sent back as
``X-Request-Id``, that every line logged while answering it carries. An exception is its
type and the code locations it passed through, not its message.
"""

from __future__ import annotations

import contextvars
import json
import logging
import secrets
import sys
import time
import traceback
from datetime import UTC, datetime

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from custody.server.metrics import route_template

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "custody_request_id", default=None)
access = logging.getLogger("custody.access")


class JsonFormatter(logging.Formatter):
    """A log record as one JSON line, without the strings interpolated into its message."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": str(record.msg),  # the template, as written in the code
        }
        args = record.args if isinstance(record.args, tuple) else ()
        numbers = [a for a in args if isinstance(a, int | float) and not isinstance(a, bool)]
        if numbers:
            line["numbers"] = numbers
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        rid = request_id.get()
        if rid is not None:
            line["request_id"] = rid
        if record.exc_info and record.exc_info[0] is not None:
            kind, _, tb = record.exc_info
            line["exception"] = kind.__name__
            line["at"] = [f"{f.filename.rsplit('/site-packages/', 1)[-1]}:{f.lineno} {f.name}"
                          for f in traceback.extract_tb(tb)][-12:]
        return json.dumps(line, separators=(",", ":"))


def use_json_logs() -> None:
    """Every handler of the root logger writes JSON lines (standard error if there is none);
    uvicorn's own loggers go through them; request lines are logged."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler(sys.stderr))
    for handler in root.handlers:
        handler.setFormatter(JsonFormatter())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_log = logging.getLogger(name)
        uvicorn_log.handlers.clear()
        uvicorn_log.propagate = True
    access.setLevel(logging.INFO)


class AccessLog:
    """ASGI middleware: a request id for each request, and one ``custody.access`` line
    when it is answered (only when ``custody.access`` logs INFO: JSON logs)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = secrets.token_hex(8)
        token = request_id.set(rid)
        status, sent, started = 500, 0, time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message = {**message, "headers": [*message.get("headers", []),
                                                  (b"x-request-id", rid.encode())]}
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if access.isEnabledFor(logging.INFO):
                access.info("request", extra={"fields": {
                    "method": scope["method"], "route": route_template(scope),
                    "status": status, "bytes_sent": sent,
                    "ms": round((time.perf_counter() - started) * 1000, 1)}})
            request_id.reset(token)
