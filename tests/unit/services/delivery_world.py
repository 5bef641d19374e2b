"""A small world for delivery tests, built through the services on a real database.

Two units (police, prosecution), a sender, two recipients, an admin in each unit,
a real SMTP server (aiosmtpd on loopback) and a real webhook receiver (HTTP on
loopback) that checks every signature it receives.
"""

from __future__ import annotations

import base64
import itertools
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from custody.clock import FixedClock
from custody.crypto.age import Identity
from custody.crypto.signing import SigningKey
from custody.domain.people import OrgKind, Role
from custody.services import accounts, cases, transfers
from custody.services import items as item_service
from custody.services.alerts import SIGNATURE_HEADER, verify_signature
from custody.services.context import Actor, ServiceContext
from custody.settings import Settings
from custody.store.blobs import open_blob_store
from custody.store.db import make_engine, make_sessionmaker, transaction
from custody.store.ledger_store import init_ledger
from custody.store.migrate import upgrade
from custody.store.models import Item
from custody.store.server_secret import load_server_secret

_URNS = itertools.count(1)
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
POLICE, CPS = "Thames Valley Police", "CPS Thames and Chiltern"


class Inbox:
    """aiosmtpd handler: keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[dict[str, str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        message = message_from_bytes(envelope.content)
        raw = message.get_payload(decode=True)  # as a mail client shows it (quoted-printable)
        body = raw.decode() if isinstance(raw, bytes) else str(message.get_payload())
        for to in envelope.rcpt_tos:
            self.messages.append({"to": to, "subject": str(message["Subject"]), "body": body})
        return "250 OK"


@dataclass
class Hooks:
    """What the webhook receiver got: (json body, signature valid?) pairs."""

    secrets: dict[str, str] = field(default_factory=dict)  # by path
    now: int = 0
    received: list[tuple[dict[str, Any], bool]] = field(default_factory=list)
    fail_next: int = 0


def webhook_server(hooks: Hooks) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if hooks.fail_next:
                hooks.fail_next -= 1
                self.send_response(503)
                self.end_headers()
                return
            secret = hooks.secrets.get(self.path, "")
            valid = verify_signature(secret, self.headers[SIGNATURE_HEADER], body, hooks.now)
            hooks.received.append(({**json.loads(body), "path": self.path}, valid))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@dataclass
class World:
    ctx: ServiceContext
    clock: FixedClock
    officer: Actor
    prosecutor: Actor
    prosecutor2: Actor
    police_admin: Actor
    cps_admin: Actor
    outsider: Actor
    police_org: str
    cps_org: str
    smtp: Inbox

    def transfer(
        self, ack: timedelta = timedelta(hours=24), items: int = 1, urn: str | None = None
    ) -> str:
        """A sent transfer from the officer to both prosecutors, ``items`` sealed items, in a
        new case (or in the officer's case ``urn``, opened already)."""
        if urn is None:
            urn = f"47TV{next(_URNS):07d}"
            cases.create_case(self.ctx, self.officer, urn)
        transfer, readers = transfers.create_transfer(self.ctx, self.officer, urn, [CPS], ack)
        for _ in range(items):
            item = item_service.add_item(self.ctx, self.officer, transfer.id, 100)
            with self.ctx.unit_of_work() as session:
                row = session.get_one(Item, item.id)
                row.state, row.blob_key = "uploaded", f"items/{item.id}"
            wraps = {
                r.recipient: base64.b64encode(b"wrap-" + r.label.encode()).decode() for r in readers
            }
            item_service.seal_item(
                self.ctx,
                self.officer,
                item.id,
                sealed_manifest_b64=base64.b64encode(b"sealed").decode(),
                manifest_sha256="a" * 64,
                wraps=wraps,
            )
        transfers.send(self.ctx, self.officer, transfer.id)
        return transfer.id


def _actor(ctx: ServiceContext, email: str, org: str, role: Role, keys: bool) -> Actor:
    user = accounts.create_user(ctx, email, org, role, "a long password 123")
    actor = Actor(user.id, user.email, user.org_id, role.value, "192.0.2.7", "pytest-agent")
    if keys:
        signing = SigningKey.generate().public_key.to_b64()
        accounts.register_keys(ctx, actor, Identity.generate().recipient.to_string(), signing)
    return actor


def make_world(
    db_url: str, tmp_path: Path, smtp_port: int, inbox: Inbox, start: datetime = T0
) -> Iterator[World]:
    engine = make_engine(db_url)
    upgrade(engine)
    with transaction(make_sessionmaker(engine)) as session:
        init_ledger(session)
    settings = Settings(
        mode="development",
        data_dir=tmp_path,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        escalation_hours=24,
    )
    clock = FixedClock(start)
    ctx = ServiceContext(
        settings,
        make_sessionmaker(engine),
        open_blob_store((tmp_path / "b").as_uri()),
        clock,
        "custody.test/ledger",
        server_secret=load_server_secret(settings),
    )
    police = accounts.create_org(
        ctx, POLICE, OrgKind.POLICE, Identity.generate().recipient.to_string()
    )
    cps = accounts.create_org(
        ctx, CPS, OrgKind.PROSECUTION, Identity.generate().recipient.to_string()
    )
    accounts.create_org(
        ctx, "Northshire Constabulary", OrgKind.POLICE, Identity.generate().recipient.to_string()
    )
    yield World(
        ctx,
        clock,
        _actor(ctx, "dc.jones@tvp.police.example", POLICE, Role.OFFICER, True),
        _actor(ctx, "a.patel@cps.example", CPS, Role.PROSECUTOR, True),
        _actor(ctx, "b.okafor@cps.example", CPS, Role.PROSECUTOR, True),
        _actor(ctx, "admin@tvp.police.example", POLICE, Role.ADMIN, False),
        _actor(ctx, "admin@cps.example", CPS, Role.ADMIN, False),
        _actor(
            ctx, "pc.reid@northshire.police.example", "Northshire Constabulary", Role.OFFICER, True
        ),
        police.id,
        cps.id,
        inbox,
    )
    engine.dispose()


def smtp_controller(inbox: Inbox) -> Controller:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller
