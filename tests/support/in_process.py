"""A world served in process: ``create_app`` on the world's settings, and a TestClient.

Everyone signs in through the real API: password, TOTP enrolment with pyotp as their
authenticator app, a scoped token. The clock is a FixedClock, so lockout and expiry are
tested by moving time, not by sleeping. :func:`transport` gives the same app to anything
that speaks httpx (``custody.client.http.Api``), without a socket.
"""

from __future__ import annotations

import base64
import itertools
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pyotp
from fastapi import FastAPI
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    # Starlette's TestClient wants "httpx2"; httpx is what this project uses and pins.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from custody.clock import FixedClock
from custody.crypto.keys import UserKeys
from custody.domain.people import Role
from custody.server import create_app
from custody.services.context import ServiceContext
from custody.settings import Settings
from support.world import T0, World, world_settings

TUS = {"Tus-Resumable": "1.0.0"}
_PASSWORDS = itertools.count(1)

__all__ = ["TUS", "InProcess", "Member", "TestClient", "in_process", "transport"]


@dataclass
class Member:
    """A person of an in-process world, and what their sign-in gave them."""

    email: str
    org: str
    role: str
    password: str
    totp: pyotp.TOTP | None = None
    token: str = ""
    token_id: str = ""
    recovery_codes: list[str] = field(default_factory=list)
    user_id: str = ""

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class InProcess:
    """The whole app of ``world`` in this process; ``client`` speaks to it over no socket."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.app: FastAPI = create_app(world.settings, clock=world.ctx.clock, background=False)
        world.adopt(self.app.state.context)  # one context: the app's
        self.client = TestClient(self.app, raise_server_exceptions=False)
        self.members: dict[str, Member] = {}

    @property
    def settings(self) -> Settings:
        return self.world.settings

    @property
    def ctx(self) -> ServiceContext:
        return self.world.ctx

    @property
    def clock(self) -> FixedClock:
        return self.world.clock

    def close(self) -> None:
        self.client.close()
        self.world.close()

    def add(self, key: str, email: str, org: str, role: Role, *, enrol: bool = True,
            unit: str | None = None) -> Member:
        """A person the world adds; signed in (and enrolled) through the API if ``enrol``."""
        password = f"password-{next(_PASSWORDS):04d}-long"
        account = self.world.add(key, email, org, role, unit=unit, password=password)
        member = Member(account.email, org, role.value, password, user_id=account.user_id)
        self.members[key] = member
        if enrol:
            self.enrol(member)
        return member

    def post_login(self, member: Member, **extra: Any) -> Any:
        body = {"email": member.email, "password": member.password, **extra}
        return self.client.post("/api/v1/login", json=body)

    def enrol(
        self, member: Member, scopes: list[str] | None = None, enrolment_code: str | None = None
    ) -> Any:
        extra = {"enrolment_code": enrolment_code} if enrolment_code else {}
        first = self.post_login(member, **extra)
        assert first.status_code == 200, first.text
        assert first.json()["enrolment_required"] is True
        enrolling = {"Authorization": f"Bearer {first.json()['token']}"}
        made = self.client.post("/api/v1/second-factor/enrol", headers=enrolling)
        assert made.status_code == 200, made.text
        member.totp = pyotp.TOTP(made.json()["secret"])
        body: dict[str, Any] = {"code": member.totp.at(self.clock.now())}
        if scopes:
            body["scopes"] = scopes
        done = self.client.post("/api/v1/second-factor/confirm", headers=enrolling, json=body)
        assert done.status_code == 200, done.text
        member.token, member.token_id = done.json()["token"], done.json()["token_id"]
        member.recovery_codes = done.json()["recovery_codes"]
        return done.json()

    def code(self, member: Member) -> str:
        """A fresh code: the clock moves one TOTP step first, as a person would wait."""
        assert member.totp is not None
        self.clock.advance(timedelta(seconds=30))
        return member.totp.at(self.clock.now())

    def login(self, member: Member, **extra: Any) -> Any:
        response = self.post_login(member, code=self.code(member), **extra)
        assert response.status_code == 200, response.text
        return response.json()

    def register_keys(self, member: Member) -> UserKeys:
        keys = UserKeys.generate()
        response = self.client.post(
            "/api/v1/keys", headers=member.auth,
            json={"age_recipient": keys.age_recipient, "signing_key": keys.signing_public},
        )
        assert response.status_code == 201, response.text
        return keys

    def transfer(self, sender: Member, to: str, urn: str, *, send: bool) -> dict[str, str]:
        """A transfer of one sealed item (random bytes: the server never reads them), in case
        ``urn`` (opened now, or already open)."""
        c = self.client
        opened = c.post("/api/v1/cases", headers=sender.auth, json={"urn": urn})
        assert opened.status_code in (201, 409), opened.text
        made = c.post("/api/v1/transfers", headers=sender.auth, json={"case": urn, "to": [to]})
        assert made.status_code == 201, made.text
        transfer = made.json()
        size = 64
        item = c.post(f"/api/v1/transfers/{transfer['id']}/items", headers=sender.auth,
                      json={"ciphertext_size": size}).json()
        meta = "item " + base64.b64encode(item["id"].encode()).decode()
        upload = c.post("/api/v1/uploads", headers={**sender.auth, **TUS, "Upload-Length":
                                                     str(size), "Upload-Metadata": meta})
        assert upload.status_code == 201, upload.text
        url = upload.headers["Location"]
        ids = {"transfer": transfer["id"], "item": item["id"], "upload": url.rsplit("/", 1)[1]}
        if not send:
            return ids
        patched = c.patch(url, content=os.urandom(size), headers={
            **sender.auth, **TUS, "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream"})
        assert patched.status_code == 204, patched.text
        wraps = {r["recipient"]: base64.b64encode(os.urandom(40)).decode()
                 for r in transfer["readers"]}
        sealed = c.post(f"/api/v1/items/{item['id']}/seal", headers=sender.auth, json={
            "sealed_manifest": base64.b64encode(os.urandom(80)).decode(),
            "manifest_sha256": "ab" * 32, "wraps": wraps})
        assert sealed.status_code == 204, sealed.text
        sent = c.post(f"/api/v1/transfers/{transfer['id']}/send", headers=sender.auth)
        assert sent.status_code == 200, sent.text
        return ids


@contextmanager
def in_process(tmp_path: Path, db_url: str, **settings: Any) -> Iterator[InProcess]:
    """The three organisations on a fresh database, served in process."""
    world = World.create(world_settings(tmp_path / "data", db_url, **settings), FixedClock(T0))
    world.organisations()
    served = InProcess(world)
    try:
        yield served
    finally:
        served.close()


def transport(client: TestClient) -> httpx.BaseTransport:
    """The TestClient's transport: an httpx client built on it reaches the app in process."""
    made: httpx.BaseTransport = client._transport  # starlette keeps it there
    return made
