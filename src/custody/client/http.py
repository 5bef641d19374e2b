"""A thin HTTP client: typed JSON calls, streamed bodies, and server errors as custody errors.

Requests are built from, and every answer parsed into, the wire models of
``custody.protocol`` that the server serialises with: an answer that does not fit its
model (a missing field, a wrong type, a string where bytes belong) is refused as an
integrity failure, never half-used.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

import httpcore
import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from custody import __version__
from custody.client.config import Session
from custody.errors import CustodyError, IntegrityError, ServerUnavailable, from_code

# Connecting and waiting for a pooled connection: 30 s. Reading an answer and writing a
# body: 300 s without progress, since a server busy with many uploads stops reading one
# connection while its earlier bytes wait for a worker (bench/load.py: 200 concurrent
# sends; with 30 s, two of them failed as if the server were unreachable).
TIMEOUT = httpx.Timeout(30.0, read=300.0, write=300.0)
# How long a read waits between tries while the server answers 503 (about 20 s in all), and
# while nothing answers at all (a node restarting; briefly: it may be a wrong address).
RETRY_WAITS = (0.5, 1.0, 2.0, 4.0, 6.0, 6.0)
UNREACHABLE_WAITS = (0.5, 1.0)
MAX_RETRY_WAIT = 10.0
T = TypeVar("T")
MAX_PAGE = 200  # the most entries a list's page holds

# httpcore reads a response 64 KiB at a time, and handling each read costs more CPU than the
# read itself: downloading 512 MiB from nginx cost the client 0.8 CPU s a GB in 8,197 pieces,
# against 0.3-0.4 s in about 600 with 1 MiB reads (curl: 0.5). Its class attribute is the only
# knob; tests/unit/client/test_http_reads.py notices if it goes away.
READ_BYTES = 1024 * 1024
httpcore.HTTP11Connection.READ_NUM_BYTES = READ_BYTES

# The transport seam (httpx's, as ``ASGITransport`` uses it): None is the network. Tests of the
# CLI point it at the app in process, so a command runs end to end with no socket.
TRANSPORT: httpx.BaseTransport | None = None


class Paged(Protocol):
    """A page of a list (``protocol``'s ``...Page`` models): its entries and the next cursor."""

    @property
    def next(self) -> str | None: ...


P = TypeVar("P", bound=Paged)


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def _adapter(into: Any) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(into)
    if adapter is None:
        adapter = _ADAPTERS[into] = TypeAdapter(into)
    return adapter


def parse(into: type[T], content: bytes, what: str) -> T:
    """``content`` (JSON) as ``into``, or an integrity error naming what did not fit."""
    try:
        value: T = _adapter(into).validate_json(content)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the answer"
        raise IntegrityError(
            f"the server's answer to {what} is not what custody expects "
            f"({where[:60]}: {first['msg'][:80]})",
            hint="the server may be a different version, misconfigured or hostile; "
            "nothing was used from this answer",
        ) from None
    return value


def _body(body: BaseModel | None) -> Any:
    return None if body is None else body.model_dump(mode="json")


class Api:
    """One server, one (optional) bearer token."""

    def __init__(
        self, server: str, token: str | None = None, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.server = server.rstrip("/")
        headers = {"User-Agent": f"custody-cli/{__version__}"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(
            base_url=self.server,
            headers=headers,
            timeout=TIMEOUT,
            transport=transport or TRANSPORT,
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request; a read (GET, HEAD) that finds the server unavailable — a node
        restarting, its database restarting — is asked again for a little while, honouring
        ``Retry-After``. Nothing else is repeated: a write's outcome is for the caller to
        learn (a send resumes from the server's offset)."""
        reading = method in ("GET", "HEAD")
        waits = iter(RETRY_WAITS if reading else ())
        unreachable = iter(UNREACHABLE_WAITS if reading else ())
        while True:
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                wait = next(unreachable, None)
                if wait is None:
                    if isinstance(exc, (httpx.ReadTimeout, httpx.WriteTimeout)):
                        raise ServerUnavailable(
                            f"the custody server at {self.server} stopped answering for "
                            f"{TIMEOUT.read:.0f} s",
                            hint="try again later: a send or receive run again resumes where "
                            "it stopped",
                        ) from exc
                    raise ServerUnavailable(
                        f"cannot reach the custody server at {self.server}",
                        hint="check the address and that the server is running (custody serve)",
                    ) from exc
                time.sleep(wait)
                continue
            if response.status_code == 503:
                wait = next(waits, None)
                if wait is not None:
                    time.sleep(min(_retry_after(response, wait), MAX_RETRY_WAIT))
                    continue
            if response.status_code >= 400:
                raise_for_error(response)
            return response

    def get(self, path: str, into: type[T], **kwargs: Any) -> T:
        """GET ``path``; its JSON answer as ``into`` (a protocol model, or a list of one)."""
        return parse(into, self.request("GET", path, **kwargs).content, f"GET {path}")

    def post(self, path: str, into: type[T], body: BaseModel | None = None, **kwargs: Any) -> T:
        """POST ``body``; the JSON answer as ``into``."""
        response = self.request("POST", path, json=_body(body), **kwargs)
        return parse(into, response.content, f"POST {path}")

    def each(self, path: str, into: type[P], field: str, **params: Any) -> Iterator[Any]:
        """Every entry of a paged list, following ``next`` from page to page."""
        after: str | None = None
        while True:
            asked = {**params, "limit": MAX_PAGE, **({"after": after} if after else {})}
            page = self.get(path, into, params=asked)
            yield from getattr(page, field)
            after = page.next
            if after is None:
                return

    def delete(self, path: str, into: type[T]) -> T:
        return parse(into, self.request("DELETE", path).content, f"DELETE {path}")

    def act(self, path: str, body: BaseModel | None = None) -> None:
        """POST ``body`` to a route that answers nothing (204)."""
        self.request("POST", path, json=_body(body)).close()

    @contextmanager
    def stream(self, method: str, path: str, **kwargs: Any) -> Iterator[httpx.Response]:
        try:
            with self._http.stream(method, path, **kwargs) as response:
                if response.status_code >= 400:
                    response.read()
                    raise_for_error(response)
                yield response
        except httpx.TransportError as exc:
            raise ServerUnavailable(
                f"the connection to {self.server} broke off",
                hint="run the same command again: it resumes where it stopped",
            ) from exc


def _retry_after(response: httpx.Response, default: float) -> float:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.isascii() and value.isdigit() else default


def raise_for_error(response: httpx.Response) -> None:
    try:
        error = response.json()["error"]
        cls = from_code(str(error["code"]))
        raise cls(str(error["message"]), hint=error.get("hint"))
    except (ValueError, KeyError, TypeError):
        pass
    raise CustodyError(f"the server answered {response.status_code}: {response.text[:200]}")


def signed_in() -> Api:
    """An API client for the session ``custody login`` saved on this machine."""
    session = Session.load()
    return Api(session.server, session.token)
