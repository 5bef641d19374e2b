"""``create_app(settings)``: the whole server, built from settings, nothing at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

from custody import __version__, api, web
from custody.clock import Clock, FileOffsetClock
from custody.errors import CustodyError, InvalidInput
from custody.http import errors
from custody.http.middleware import Guard
from custody.http.openapi import document
from custody.http.policy import PUBLIC
from custody.server.context import build_context
from custody.server.logs import AccessLog, use_json_logs
from custody.server.metrics import CountingBlobStore, NodeMetrics, serve_metrics
from custody.services import releases
from custody.services.context import ServiceContext
from custody.services.ledger import publish_checkpoint
from custody.services.releases import Assets
from custody.services.scrub import Scrubber
from custody.services.watcher import Periodic, Watcher
from custody.services.witnessing import Witnessing
from custody.settings import Settings
from custody.store.db import check_database
from custody.web.assets import StaticAssets
from custody.web.pages import browser_error_page

log = logging.getLogger("custody.server")


class CheckpointPublisher(Periodic):
    """Signs a new checkpoint whenever the log grew, every few seconds, in the background."""

    def __init__(self, ctx: ServiceContext) -> None:
        super().__init__("checkpoints", ctx.settings.checkpoint_interval_seconds, patience=10)
        self._ctx = ctx
        # Its witnesses (CUSTODY_WITNESSES) cosign each new checkpoint; one that is down is
        # asked again on the next round, delaying nothing but its own cosignature.
        self._witnessing = Witnessing(ctx) if ctx.settings.witnesses else None

    def tick(self) -> None:
        try:
            publish_checkpoint(self._ctx)
            if self._witnessing is not None:
                self._witnessing.gather()
        except CustodyError as exc:
            # An inconsistent history is an alarm, not a reason to stop serving reads.
            log.error("checkpoint refused: %s", exc.message)  # noqa: TRY400 - no traceback in logs


def served_clock(settings: Settings) -> Clock | None:
    """The clock a served app runs on: the real one, or (tests only, in development mode) the
    one ``CUSTODY_TEST_CLOCK_FILE`` moves."""
    if settings.test_clock_file is None:
        return None
    if settings.mode != "development":
        raise InvalidInput(
            "CUSTODY_TEST_CLOCK_FILE moves the server's time and is for tests only",
            hint="unset it, or set CUSTODY_MODE=development on a test server",
        )
    return FileOffsetClock(settings.test_clock_file)


def app_from_environment() -> FastAPI:
    """The app of one of ``custody serve --workers N``'s processes: each builds its own from
    the same CUSTODY_* environment (uvicorn imports this factory in every worker)."""
    settings = Settings()
    return create_app(settings, clock=served_clock(settings))


def _background_jobs(ctx: ServiceContext) -> list[Periodic]:
    """What a node does besides answering requests, each on a thread of its own: signing
    checkpoints (with a log key), the watcher (alerts, expiry, retention, delivery), and the
    scheduled scrub (``CUSTODY_SCRUB_EVERY_HOURS``)."""
    jobs: list[Periodic] = [CheckpointPublisher(ctx)] if ctx.log_signer else []
    jobs.append(Watcher(ctx))
    if ctx.settings.scrub_every_hours:
        jobs.append(Scrubber(ctx))
    return jobs


def _publish_release(ctx: ServiceContext, assets: Assets) -> None:
    """Log the browser code this server hands out, once per release (code transparency)."""
    try:
        logged = releases.publish(ctx, assets)
    except CustodyError as exc:  # serving goes on; GET /api/v1/code says it is not logged
        log.error("code release not logged: %s", exc.message)  # noqa: TRY400 - no traceback
        return
    log.info(
        "code release %s (%s) is ledger entry %d",
        logged.version,
        logged.digest[:12],
        logged.ledger_index,
    )


def create_app(
    settings: Settings, *, clock: Clock | None = None, background: bool = True
) -> FastAPI:
    ctx = build_context(settings, clock)
    metrics = NodeMetrics(ctx)
    ctx = replace(ctx, blobs=CountingBlobStore(ctx.blobs, metrics.blob_errors))
    if settings.log_format == "json":
        use_json_logs()

    static = StaticAssets.load()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        _publish_release(ctx, static.release)
        jobs = _background_jobs(ctx) if background else []
        for job in jobs:
            job.start()
        try:
            yield
        finally:
            for job in reversed(jobs):
                job.stop()

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
    serve_metrics(app, settings, metrics)  # outside Guard: its refusals are counted too
    app.add_middleware(AccessLog)
    app.state.context = ctx
    app.state.static = static  # the pages' assets, loaded with Subresource Integrity
    app.state.release = static.release  # what GET /api/v1/code says, and the log records
    app.state.log_vkey = ctx.log_signer.verifier.vkey if ctx.log_signer else None
    errors.install(app, pages=browser_error_page)  # a browser gets pages, the API JSON
    for router in (*api.routers, *web.routers):  # the JSON API, then the web pages (docs/web.md)
        app.include_router(router)

    @app.get("/openapi.json", include_in_schema=False, dependencies=[PUBLIC])
    def openapi() -> dict[str, Any]:
        return document(app)

    @app.get(
        "/healthz", response_class=PlainTextResponse, include_in_schema=False, dependencies=[PUBLIC]
    )
    def healthz() -> str:
        """Liveness: the process serves requests (what it depends on may not answer)."""
        return "ok\n"

    @app.get(
        "/readyz", response_class=PlainTextResponse, include_in_schema=False, dependencies=[PUBLIC]
    )
    def readyz() -> PlainTextResponse:
        """Readiness: the database and the blob store answer now. A load balancer sends
        requests only to a ready node; why one is not is in its log, not in the answer."""
        failing = []
        checks: tuple[tuple[str, Callable[[], None]], ...] = (
            ("database", lambda: check_database(ctx.sessions)), ("blob store", ctx.blobs.check))
        for part, check in checks:
            try:
                check()
            except CustodyError as exc:
                log.warning("not ready: %s", exc.diagnostics())
                failing.append(part)
        fresh = {"Cache-Control": "no-store"}  # an answer of now, never of a cache
        if failing:
            return PlainTextResponse(f"not ready: {', '.join(failing)}\n", status_code=503,
                                     headers=fresh)
        return PlainTextResponse("ready\n", headers=fresh)

    return app
