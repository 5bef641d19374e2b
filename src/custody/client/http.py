"""A thin HTTP client: JSON calls, streamed bodies, and server errors as custody errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from custody import __version__
from custody.client.config import Session
from custody.errors import CustodyError, ServerUnavailable, from_code

TIMEOUT = httpx.Timeout(30.0, read=300.0)


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
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ServerUnavailable(
                f"cannot reach the custody server at {self.server}",
                hint="check the address and that the server is running (custody serve)",
            ) from exc
        if response.status_code >= 400:
            raise_for_error(response)
        return response

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs).json()

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        response = self.request("POST", path, json=json, **kwargs)
        return response.json() if response.content else None

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
