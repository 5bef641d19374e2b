"""The witness's HTTP interface: ``POST /add-checkpoint`` (c2sp.org/tlog-witness)."""

from __future__ import annotations

import asyncio

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from custody.witness.core import MAX_BODY, Answer, Witness

_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def make_app(witness: Witness) -> Starlette:
    """The witness as an ASGI application."""

    async def add_checkpoint(request: Request) -> Response:
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return _answer(Answer.text(413, f"the request is larger than {MAX_BODY} bytes"))
        # SQLite and Ed25519 work off the event loop: one slow disk must not stall the others.
        return _answer(await asyncio.to_thread(witness.add_checkpoint, bytes(body)))

    async def about(_: Request) -> Response:
        logs = "".join(f"log {origin}\n" for origin in sorted(witness.logs))
        text = f"custody witness\nkey {witness.cosigner.verifier.vkey}\n{logs}"
        return PlainTextResponse(text, headers=_HEADERS)

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok\n", headers=_HEADERS)

    return Starlette(routes=[
        Route("/add-checkpoint", add_checkpoint, methods=["POST"]),
        Route("/", about, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
    ])


def _answer(answer: Answer) -> Response:
    # The type exactly as given: Starlette would add "; charset=utf-8" to text/x.tlog.size.
    headers = {**_HEADERS, "Content-Type": answer.content_type}
    return Response(answer.body, status_code=answer.status, headers=headers)
