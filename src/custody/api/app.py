"""``create_app(settings)``: the whole server, built from settings, nothing at import time."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

from custody import __version__
from custody.api import (
    errors,
    ledger_routes,
    routes,
    routes_assurance,
    routes_delivery,
    routes_people,
    routes_security,
    tus,
)
from custody.api.middleware import Guard
from custody.api.policy import PUBLIC
from custody.clock import Clock, SystemClock
from custody.errors import CustodyError, LocalError
from custody.ledger.note import Signer
from custody.services.context import ServiceContext
from custody.services.ledger import publish_checkpoint
from custody.services.watcher import Watcher
from custody.settings import Settings
from custody.store.blobs import open_blob_store
from custody.store.db import make_engine, make_sessionmaker
from custody.store.migrate import require_current_schema
from custody.store.server_secret import load_server_secret
from custody.web import routers as web_routers

log = logging.getLogger("custody.server")


def load_log_signer(settings: Settings) -> tuple[str, Signer | None]:
    """The log's origin and signing key, as ``custody admin init`` left them."""
    origin = (
        settings.log_origin_path.read_text().strip() if settings.log_origin_path.exists() else ""
    )
    path = settings.log_key_path
    if not path.exists():
        return origin, None
    if settings.mode == "production" and path.stat().st_mode & 0o077:
        raise LocalError(
            f"the log signing key {path} is readable by other users",
            hint=f"chmod 600 {path} (and check who could have copied it)",
        )
    return origin, Signer.from_skey(path.read_text().strip())


def build_context(settings: Settings, clock: Clock | None = None) -> ServiceContext:
    engine = make_engine(settings.effective_database_url)
    require_current_schema(engine)
    origin, signer = load_log_signer(settings)
    return ServiceContext(
        settings=settings,
        sessions=make_sessionmaker(engine),
        blobs=open_blob_store(settings.effective_blob_url),
        clock=clock or SystemClock(),
        origin=origin,
        log_signer=signer,
        server_secret=load_server_secret(settings),
    )


class CheckpointPublisher:
    """Signs a new checkpoint whenever the log grew, every few seconds, in the background."""

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="checkpoints", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        interval = self._ctx.settings.checkpoint_interval_seconds
        while not self._stop.wait(interval):
            try:
                publish_checkpoint(self._ctx)
            except CustodyError as exc:
                # An inconsistent history is an alarm, not a reason to stop serving reads.
                log.error("checkpoint refused: %s", exc.message)  # noqa: TRY400 - no traceback in logs


def create_app(
    settings: Settings, *, clock: Clock | None = None, background: bool = True
) -> FastAPI:
    ctx = build_context(settings, clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        publisher = CheckpointPublisher(ctx) if background and ctx.log_signer else None
        if publisher:
            publisher.start()
        watcher = Watcher(ctx) if background else None  # overdue alerts, share expiry
        if watcher:
            watcher.start()
        try:
            yield
        finally:
            if watcher:
                watcher.stop()
            if publisher:
                publisher.stop()

    app = FastAPI(
        title="custody",
        version=__version__,
        summary="End-to-end encrypted transfer of case material, with a custody ledger.",
        lifespan=lifespan,
        # No web pages: the interactive docs would need scripts the CSP forbids. The schema is
        # served below, under a declared policy like every other route.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(Guard, tls=settings.tls, max_body=settings.max_json_bytes)
    app.state.context = ctx
    app.state.log_vkey = ctx.log_signer.verifier.vkey if ctx.log_signer else None
    errors.install(app)
    app.include_router(routes.router)
    app.include_router(tus.router)
    app.include_router(ledger_routes.router)
    app.include_router(routes_delivery.router)
    app.include_router(routes_assurance.router)
    app.include_router(routes_security.router)
    for router in web_routers:  # the web application's pages (custody.web, docs/web.md)
        app.include_router(router)
    app.include_router(routes_people.router)

    @app.get("/openapi.json", include_in_schema=False, dependencies=[PUBLIC])
    def openapi() -> dict[str, Any]:
        return app.openapi()

    @app.get(
        "/healthz", response_class=PlainTextResponse, include_in_schema=False, dependencies=[PUBLIC]
    )
    def healthz() -> str:
        return "ok\n"

    return app
