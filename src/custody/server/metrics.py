"""``GET /metrics``: what one node has served, and the service's state, for Prometheus.

Each node counts its own requests in its own registry (one process per node: nothing is
shared between processes); Prometheus scrapes every node at its own address and sums.
The service's state (the ledger's size, the newest checkpoint's age, the alert queue) is
read from the database at each scrape, so every node reports the same values.

Labels are route templates (``/api/v1/items/{item_id}/content``), methods and statuses:
never an id, an address or anything a person typed. The endpoint needs the bearer token
``CUSTODY_METRICS_TOKEN`` and is off without one (docs/security.md says why).
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from custody.errors import CustodyError
from custody.http.policy import PUBLIC
from custody.services.context import ServiceContext
from custody.settings import Settings
from custody.store.blobs import BlobInfo, BlobStore
from custody.store.ledger_store import LedgerStore
from custody.store.models_delivery import Alert

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
UNMATCHED = "unmatched"  # a path no route serves: one label, whatever was asked
_UPLOAD_PATCH = ("PATCH", "/api/v1/uploads/")
_CONTENT = "/content"  # an item's ciphertext, downloaded

log = logging.getLogger("custody.metrics")


class NodeMetrics:
    """The metrics of one node, in a registry of its own."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("custody_http_requests", "HTTP requests answered",
                                ["method", "route", "status"], registry=r)
        self.latency = Histogram(
            "custody_http_request_duration_seconds", "Time to answer a request, body included",
            ["method", "route"], registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300))
        self.uploaded = Counter("custody_uploaded_bytes", "Ciphertext bytes received in tus PATCH "
                                "bodies", registry=r)
        self.downloaded = Counter("custody_downloaded_bytes", "Ciphertext bytes sent from "
                                  "items' content", registry=r)
        self.uploads_in_flight = Gauge("custody_uploads_in_flight", "tus PATCHes being received "
                                       "now", registry=r)
        self.blob_errors = Counter("custody_blob_store_errors", "Blob store calls that failed",
                                   ["operation"], registry=r)
        r.register(ServiceState(ctx))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class ServiceState(Collector):
    """Gauges read from the database at each scrape: the same on every node."""

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    def describe(self) -> Iterable[Metric]:
        return []  # read at scrape time only: never while the registry is being built

    def collect(self) -> Iterator[Metric]:
        size = GaugeMetricFamily("custody_ledger_size", "Entries in the newest checkpoint")
        age = GaugeMetricFamily("custody_checkpoint_age_seconds",
                                "Seconds since the newest checkpoint was signed")
        queue = GaugeMetricFamily("custody_alert_queue_depth",
                                  "Alerts waiting to be delivered (not delivered, not abandoned)")
        try:
            with self._ctx.unit_of_work() as session:
                cp = LedgerStore(session).latest_checkpoint()
                waiting = session.scalar(select(func.count()).select_from(Alert).where(
                    Alert.delivered_at.is_(None), Alert.failed_at.is_(None)))
        except CustodyError as exc:  # the database is down: /readyz says so; no gauges now
            log.warning("metrics: the database did not answer: %s", exc.code.value)
            return
        if cp is not None:
            size.add_metric([], cp.size)
            age.add_metric([], max(0.0, (self._ctx.clock.now() - cp.created_at).total_seconds()))
            yield size
            yield age
        queue.add_metric([], int(waiting or 0))
        yield queue


def serve_metrics(app: FastAPI, settings: Settings, metrics: NodeMetrics) -> None:
    """Measure every request, and answer ``GET /metrics`` for the holder of the token."""
    app.add_middleware(Measure, metrics=metrics)

    @app.get("/metrics", include_in_schema=False, dependencies=[PUBLIC])
    def prometheus(request: Request) -> Response:
        """This node's metrics for Prometheus, for the holder of CUSTODY_METRICS_TOKEN; off
        (404) without one (docs/security.md)."""
        token = settings.metrics_token
        if token is None:
            return PlainTextResponse("not found\n", status_code=404)
        if not authorised(token.get_secret_value(), request.headers.get("authorization")):
            return PlainTextResponse("metrics need CUSTODY_METRICS_TOKEN as a bearer token\n",
                                     status_code=401, headers={"WWW-Authenticate": "Bearer"})
        return Response(metrics.exposition(), media_type=CONTENT_TYPE,
                        headers={"Cache-Control": "no-store"})


def authorised(token: str | None, header: str | None) -> bool:
    """The scraper's ``Authorization: Bearer <CUSTODY_METRICS_TOKEN>``, compared in constant
    time."""
    if not token or not header or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header.removeprefix("Bearer ").encode(), token.encode())


class Measure:
    """ASGI middleware: counts each request by route template and status, times it, and
    counts the ciphertext bytes of tus PATCHes and content downloads."""

    def __init__(self, app: ASGIApp, *, metrics: NodeMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        m = self.metrics
        method, path = scope["method"], scope["path"]
        uploading = method == _UPLOAD_PATCH[0] and path.startswith(_UPLOAD_PATCH[1])
        status = 500  # unless an answer starts
        sent = received = 0
        started = time.perf_counter()

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
            return message

        async def counted_send(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        if uploading:
            m.uploads_in_flight.inc()
        try:
            await self.app(scope, counted_receive, counted_send)
        finally:
            if uploading:
                m.uploads_in_flight.dec()
                m.uploaded.inc(received)
            route = route_template(scope)
            if method == "GET" and route.endswith(_CONTENT) and status in (200, 206):
                m.downloaded.inc(sent)
            m.requests.labels(method, route, str(status)).inc()
            m.latency.labels(method, route).observe(time.perf_counter() - started)


def route_template(scope: Scope) -> str:
    """The path template of the route that answered (set by the router), never the path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


class CountingBlobStore:
    """A blob store whose failed calls are counted by operation
    (``custody_blob_store_errors``); everything else is the store's own."""

    def __init__(self, inner: BlobStore, errors: Counter) -> None:
        self._inner = inner
        self._errors = errors

    @contextmanager
    def _counted(self, operation: str) -> Iterator[None]:
        try:
            yield
        except CustodyError:
            self._errors.labels(operation).inc()
            raise

    def create_upload(self, upload_id: str, length: int, key: str) -> None:
        with self._counted("create_upload"):
            self._inner.create_upload(upload_id, length, key)

    def upload_offset(self, upload_id: str) -> int:
        with self._counted("upload_offset"):
            return self._inner.upload_offset(upload_id)

    def append(self, upload_id: str, offset: int, chunks: Iterable[bytes]) -> int:
        with self._counted("append"):
            return self._inner.append(upload_id, offset, chunks)

    def finish_upload(self, upload_id: str, key: str) -> BlobInfo:
        with self._counted("finish_upload"):
            return self._inner.finish_upload(upload_id, key)

    def truncate_upload(self, upload_id: str, offset: int) -> None:
        with self._counted("truncate_upload"):
            self._inner.truncate_upload(upload_id, offset)

    def abort_upload(self, upload_id: str) -> None:
        with self._counted("abort_upload"):
            self._inner.abort_upload(upload_id)

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        with self._counted("read"):  # a generator: its failures come while it is read
            yield from self._inner.read(key, start, end)

    def size(self, key: str) -> int:
        with self._counted("size"):
            return self._inner.size(key)

    def delete(self, key: str) -> None:
        with self._counted("delete"):
            self._inner.delete(key)

    def check(self) -> None:
        with self._counted("check"):
            self._inner.check()


