"""An in-process server (``create_app`` + TestClient) with people in three organisations.

Everyone logs in through the real API: password, TOTP enrolment with pyotp as
their authenticator app, a scoped token. The clock is a FixedClock, so lockout
and expiry are tested by moving time, not by sleeping.
"""

from __future__ import annotations

import base64
import itertools
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
from fastapi import FastAPI
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    # Starlette's TestClient wants "httpx2"; httpx is what this project uses and pins.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from custody.clock import FixedClock
from custody.crypto.age import Identity
from custody.crypto.keys import UserKeys
from custody.crypto.signing import SigningKey
from custody.domain.people import OrgKind, Role
from custody.ledger.note import Signer
from custody.server import create_app
from custody.services import accounts
from custody.services.context import ServiceContext
from custody.settings import Settings
from custody.store.db import make_engine, make_sessionmaker, transaction
from custody.store.ledger_store import init_ledger
from custody.store.migrate import upgrade
from custody.store.server_secret import create_server_secret

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
POLICE, CPS, OTHER = "Thames Valley Police", "CPS Thames and Chiltern", "Northshire Constabulary"
TUS = {"Tus-Resumable": "1.0.0"}
_PASSWORDS = itertools.count(1)


@dataclass
class Member:
    email: str
    org: str
    role: str
    password: str
    totp: pyotp.TOTP | None = None
    token: str = ""
    token_id: str = ""
    recovery_codes: list[str] = field(default_factory=list)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class World:
    def __init__(self, data_dir: Path, db_url: str, **settings: Any) -> None:
        self.settings = Settings(data_dir=data_dir, database_url=db_url, **settings)
        data_dir.mkdir(parents=True, exist_ok=True)
        engine = make_engine(self.settings.effective_database_url)
        upgrade(engine)
        with transaction(make_sessionmaker(engine)) as session:
            init_ledger(session)
        engine.dispose()
        create_server_secret(self.settings)
        signer = Signer("custody.test/log", SigningKey.generate())
        self.settings.log_key_path.write_text(signer.to_skey() + "\n")
        self.settings.log_key_path.chmod(0o600)
        self.settings.log_origin_path.write_text("custody.test/log\n")
        self.clock = FixedClock(T0)
        self.app: FastAPI = create_app(self.settings, clock=self.clock, background=False)
        self.ctx: ServiceContext = self.app.state.context
        self.client = TestClient(self.app, raise_server_exceptions=False)
        self.members: dict[str, Member] = {}
        for name, kind in ((POLICE, OrgKind.POLICE), (CPS, OrgKind.PROSECUTION),
                           (OTHER, OrgKind.POLICE)):
            accounts.create_org(self.ctx, name, kind, Identity.generate().recipient.to_string())

    def add(self, key: str, email: str, org: str, role: Role, *, enrol: bool = True,
            unit: str | None = None) -> Member:
        member = Member(email, org, role.value, f"password-{next(_PASSWORDS):04d}-long")
        accounts.create_user(self.ctx, email, org, role, member.password, unit)
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

    def register_keys(self, member: Member) -> None:
        keys = UserKeys.generate()
        response = self.client.post(
            "/api/v1/keys", headers=member.auth,
            json={"age_recipient": keys.age_recipient, "signing_key": keys.signing_public},
        )
        assert response.status_code == 201, response.text

    def transfer(self, sender: Member, to: str, urn: str, *, send: bool) -> dict[str, str]:
        """A transfer of one sealed item (random bytes: the server never reads them)."""
        c = self.client
        assert c.post("/api/v1/cases", headers=sender.auth, json={"urn": urn}).status_code == 201
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
def world(tmp_path: Path, db_url: str, **settings: Any) -> Iterator[World]:
    w = World(tmp_path / "data", db_url, **settings)
    try:
        yield w
    finally:
        w.client.close()
