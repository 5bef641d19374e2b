"""People's machines for ``custody.client``, talking to an in-process app over no socket.

A :class:`Machine` is what ``custody login`` and ``custody keys init`` leave on a person's
computer: a client folder (``CUSTODY_HOME``), the saved session, their keys, and the log key
pinned; its ``api`` is ``custody.client.http.Api`` on the TestClient's transport. A
:class:`Tampering` transport sits between a client and the app and changes what it is told,
as a hostile server (or whoever terminates TLS in front of it) would.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from custody.client.config import Session
from custody.client.http import Api
from custody.client.trust import parse_log_key, pin_log_key
from custody.crypto.keys import UserKeys
from custody.domain.people import Role
from custody.ledger.note import Signer
from custody.services.ledger import publish_checkpoint
from custody.store.ledger_store import LedgerStore
from support.in_process import InProcess, Member, in_process, transport
from support.world import CAST, new_urn

SERVER = "http://testserver"  # the TestClient's own address

Rewrite = Callable[[httpx.Request, httpx.Response], httpx.Response]


class Tampering(httpx.BaseTransport):
    """Passes requests to ``inner``; answers matching a rule are rewritten on the way back,
    and a request matching ``fail`` never arrives (the connection breaks)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.rules: list[tuple[str, re.Pattern[str], Rewrite]] = []
        self.breaks: list[tuple[str, re.Pattern[str], Callable[[], bool]]] = []
        self.seen: list[str] = []

    def on(self, method: str, path: str, rewrite: Rewrite) -> None:
        self.rules.append((method, re.compile(path), rewrite))

    def fail(self, method: str, path: str, when: Callable[[], bool] = lambda: True) -> None:
        self.breaks.append((method, re.compile(path), when))

    def honest(self) -> None:
        self.rules.clear()
        self.breaks.clear()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(f"{request.method} {request.url.path}")
        for method, pattern, when in self.breaks:
            if request.method == method and pattern.fullmatch(request.url.path) and when():
                raise httpx.ConnectError("the connection broke (a test's doing)", request=request)
        response = self.inner.handle_request(request)
        for method, pattern, rewrite in self.rules:
            if request.method == method and pattern.fullmatch(request.url.path):
                response.read()
                response = rewrite(request, response)
        return response


def with_json(response: httpx.Response, body: object) -> httpx.Response:
    """``response`` with another JSON body (its status and headers kept, its length not)."""
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return httpx.Response(response.status_code, headers=headers, json=body)


def with_content(response: httpx.Response, content: bytes) -> httpx.Response:
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return httpx.Response(response.status_code, headers=headers, content=content)


@dataclass
class Machine:
    """One person's computer, with ``custody login`` and ``custody keys init`` done."""

    member: Member
    home: Path
    keys: UserKeys
    session: Session
    tampering: Tampering
    api: Api = field(repr=False)
    said: list[str] = field(default_factory=list)

    def say(self, line: str) -> None:
        """What the client tells its person (``custody send`` prints it), indentation aside."""
        self.said.append(line.strip())

    @contextmanager
    def active(self) -> Iterator[Machine]:
        """While open, ``custody.client`` works in this person's folder (CUSTODY_HOME)."""
        before = os.environ.get("CUSTODY_HOME")
        os.environ["CUSTODY_HOME"] = str(self.home)
        try:
            yield self
        finally:
            if before is None:
                del os.environ["CUSTODY_HOME"]
            else:
                os.environ["CUSTODY_HOME"] = before


def machine(app: InProcess, member: Member, home: Path) -> Machine:
    """``member``'s computer: keys made and registered, the session saved, the log key (as
    their organisation hands it out) pinned."""
    keys = app.register_keys(member)
    session = Session(SERVER, member.token, "", member.user_id, member.email, member.org,
                      member.role)
    tampering = Tampering(transport(app.client))
    made = Machine(member, home, keys, session, tampering,
                   Api(SERVER, member.token, transport=tampering))
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    with made.active():
        session.save()
        pin_log_key(SERVER, parse_log_key(app.world.log_key))
    return made


@dataclass
class Desks:
    """An officer of Thames Valley Police, two prosecutors of CPS and an officer of
    Northshire, each at their own machine with keys made, signed in to ``app``."""

    app: InProcess
    officer: Machine
    prosecutor: Machine
    prosecutor2: Machine
    outsider: Machine


@contextmanager
def desks_in(folder: Path) -> Iterator[Desks]:
    """The cast at their machines, against a fresh in-process server (SQLite) in ``folder``."""
    with in_process(folder, f"sqlite:///{folder / 'custody.db'}") as app:
        yield Desks(app, **{
            key: machine(app, app.add(key, email, org, Role(role)), folder / key)
            for key, email, org, role in CAST if role != Role.ADMIN
        })


# The real log of the in-process server, as its operator (or an intruder on it) reaches it.


def entries(desks: Desks) -> list[bytes]:
    with desks.app.ctx.unit_of_work() as session:
        store = LedgerStore(session)
        return [store.entry(i) for i in range(store.size())]


def signer(desks: Desks) -> Signer:
    """The log's signing key, as the server's operator (or an intruder on it) holds it."""
    made = desks.app.ctx.log_signer
    assert made is not None
    return made


def grow(desks: Desks, by: int = 3) -> None:
    """The real log grows (cases opened), and signs a checkpoint of it."""
    for _ in range(by):
        desks.app.client.post("/api/v1/cases", headers=desks.officer.member.auth,
                              json={"urn": new_urn()})
    publish_checkpoint(desks.app.ctx)
