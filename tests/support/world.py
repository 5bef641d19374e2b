"""One way to build a world: a database, organisations, units and people, made through the
services, on which a test then works at the layer it is about.

    world = World.create(world_settings(tmp_path / "data", db_url), FixedClock(T0))
    world.organisations()                            # Thames Valley Police, CPS, Northshire
    officer = world.add("officer", "dc.jones@tvp.police.example", POLICE, Role.OFFICER,
                        keys=True)
    world.sent_transfer(officer.actor, CPS)          # services only: actors and the context
    InProcess(world)                                 # support.in_process: create_app + TestClient

``Cast`` is the people most tests need, made this way. A real server's world is opened on the
data folder ``custody admin init`` made, as an operator's would be (:meth:`World.open`, used
by ``support.server.shared_server``).
"""

from __future__ import annotations

import atexit
import base64
import functools
import itertools
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import create_engine, inspect, select

from custody.clock import Clock, FixedClock
from custody.crypto.age import Identity
from custody.crypto.keys import UserKeys
from custody.domain.people import OrgKind, Role
from custody.ledger.entry import Entry
from custody.protocol.transfers import SealIn, TransferOut
from custody.server import build_context
from custody.server.setup import initialise
from custody.services import accounts, cases, transfers, units
from custody.services import items as item_service
from custody.services.context import Actor, Origin, ServiceContext
from custody.settings import Settings
from custody.store.ledger_store import LedgerStore
from custody.store.migrate import upgrade
from custody.store.models import Item, User
from custody.store.models_security import SecurityEvent
from support.databases import drop_postgres, made_postgres, recreate_from
from support.mail import Mailbox

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
POLICE, CPS, OTHER = "Thames Valley Police", "CPS Thames and Chiltern", "Northshire Constabulary"
ORGANISATIONS = ((POLICE, OrgKind.POLICE), (CPS, OrgKind.PROSECUTION), (OTHER, OrgKind.POLICE))
PASSWORD = "a long password 123"  # noqa: S105 - test accounts' password
ORIGIN = "custody.test/ledger"
# argon2id still, at its cheapest: a world makes and checks many passwords.
CHEAPEST_HASHING = {"password_hash_time_cost": 1, "password_hash_memory_kib": 32}
ADDRESS, AGENT = "192.0.2.7", "pytest-agent"

_URNS = itertools.count(1)
_NAMES = itertools.count(1)


def new_urn() -> str:
    """A case URN no other test of this session has used."""
    return f"47TV{next(_URNS):07d}"


def world_settings(data_dir: Path, database_url: str, **overrides: Any) -> Settings:
    """A test server's settings: development mode, the cheapest argon2id, SQLite synced at
    checkpoints rather than at every commit, no scheduled scrub (tests move the clock by
    weeks; the scrub's own tests schedule it), and ``overrides``."""
    values: dict[str, Any] = {"mode": "development", "scrub_every_hours": 0,
                              "sqlite_synchronous": "normal", **CHEAPEST_HASHING, **overrides}
    return Settings(data_dir=data_dir, database_url=database_url, **values)


def _start_migrated(url: str) -> None:
    """A new database at ``url`` made a copy of one at the newest schema: a SQLite file that
    is not there yet, or an empty PostgreSQL database (made again from a template)."""
    if url.startswith("sqlite:///"):
        target = Path(url.removeprefix("sqlite:///"))
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        made = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # as db.py does
        with _migrated_sqlite().open("rb") as source, os.fdopen(made, "wb") as copy:
            shutil.copyfileobj(source, copy)
    elif url.startswith("postgresql"):
        engine = create_engine(url)
        try:
            empty = not inspect(engine).get_table_names()
        finally:
            engine.dispose()
        if empty:
            recreate_from(url, _migrated_postgres())


@functools.cache
def _migrated_postgres() -> str:
    """A PostgreSQL database at the newest schema, made by the migrations once a process, as
    a template for new ones; dropped when the process ends."""
    url = made_postgres("custody_schema")
    atexit.register(drop_postgres, url)
    engine = create_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return url


@functools.cache
def _migrated_sqlite() -> Path:
    """An empty SQLite database at the newest schema, made by the migrations once a process."""
    folder = Path(tempfile.mkdtemp(prefix="custody-schema-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "custody.db"
    engine = create_engine(f"sqlite:///{path}")
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return path


def environment(settings: Settings) -> dict[str, str]:
    """The ``CUSTODY_*`` variables that give a server process these settings."""
    env = {}
    for name in sorted(settings.model_fields_set):
        value = getattr(settings, name)
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, tuple):
            value = ",".join(value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        env[f"CUSTODY_{name.upper()}"] = str(value)
    return env


@dataclass
class Account:
    """A person the world made: who they are, and the password they sign in with."""

    key: str
    email: str
    org: str
    role: str
    password: str
    user_id: str = ""
    org_id: str = ""
    keys: UserKeys | None = field(default=None, repr=False)  # registered through the services

    @property
    def actor(self) -> Actor:
        """This person as the services see a request of theirs."""
        return Actor(self.user_id, self.email, self.org_id, self.role, Origin(ADDRESS, AGENT))


class World:
    """Organisations and people on one database: everything a test needs to begin."""

    def __init__(self, settings: Settings, ctx: ServiceContext, log_key: str) -> None:
        self.settings = settings
        self.ctx = ctx
        self.log_key = log_key
        self.orgs: dict[str, str] = {}  # name -> id
        self.recovery_keys: dict[str, Path] = {}  # name -> the offline key's file
        self.accounts: dict[str, Account] = {}
        self.mail: Mailbox | None = None

    @classmethod
    def create(
        cls, settings: Settings, clock: Clock | None = None, origin: str = ORIGIN
    ) -> World:
        """A new world: the data folder and database made as ``custody admin init`` makes them.

        A new SQLite database starts as a copy of one this process migrated (the migrations
        run once, not for every world: they cost most of a world's making); ``initialise``
        then finds it at the newest schema. The migrations' own tests migrate for real."""
        _start_migrated(settings.effective_database_url)
        done = initialise(settings, origin)
        return cls(settings, build_context(settings, clock), done.signer.verifier.vkey)

    @classmethod
    def open(cls, settings: Settings, log_key: str, clock: Clock | None = None) -> World:
        """A world on data made already (by ``custody admin init``)."""
        return cls(settings, build_context(settings, clock), log_key)

    @property
    def clock(self) -> FixedClock:
        """The world's clock, for a world made with a FixedClock (most are)."""
        assert isinstance(self.ctx.clock, FixedClock), "this world runs on the real time"
        return self.ctx.clock

    def adopt(self, ctx: ServiceContext) -> None:
        """Work through ``ctx`` from now on (an app's own), closing this world's own."""
        if ctx is not self.ctx:
            self.ctx.close()
            self.ctx = ctx

    def close(self) -> None:
        self.ctx.close()

    # ── organisations, units, people ──

    def org(self, name: str, kind: OrgKind) -> str:
        """An organisation; its recovery key's secret half is written to a file, as
        ``custody admin org create`` writes it, and never reaches the server."""
        identity = Identity.generate()
        made = accounts.create_org(self.ctx, name, kind, identity.recipient.to_string())
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        path = self.settings.data_dir.parent / "recovery" / f"{slug}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            f"# recovery key of {name}\n# public key: {identity.recipient.to_string()}\n"
            f"{identity.to_string()}\n"
        )
        path.chmod(0o600)
        self.orgs[name] = made.id
        self.recovery_keys[name] = path
        return made.id

    def organisations(self) -> None:
        """Thames Valley Police, CPS Thames and Chiltern, Northshire Constabulary."""
        for name, kind in ORGANISATIONS:
            self.org(name, kind)

    def new_org(self, kind: OrgKind) -> str:
        """An organisation of its own for a test that changes who belongs to one; its name."""
        name = f"{kind.value.capitalize()} Unit {next(_NAMES)}"
        self.org(name, kind)
        return name

    def unit(self, org: str, name: str) -> str:
        return units.create_unit(self.ctx, org, name).id

    def add(
        self,
        key: str,
        email: str,
        org: str,
        role: Role,
        *,
        unit: str | None = None,
        keys: bool = False,
        password: str = PASSWORD,
    ) -> Account:
        """A person, as an admin adds them; with keys registered if ``keys``."""
        user = accounts.create_user(self.ctx, email, org, role, password, unit)
        account = Account(key, user.email, org, role.value, password, user.id, user.org_id)
        if keys:
            account.keys = UserKeys.generate()
            accounts.register_keys(
                self.ctx, account.actor, account.keys.age_recipient, account.keys.signing_public
            )
        self.accounts[key] = account
        return account

    # ── transfers, made as a client would, without the bytes (the server never reads them) ──

    def sent_transfer(
        self,
        sender: Actor,
        *to: str,
        ack: timedelta | None = None,
        items: int = 1,
        urn: str | None = None,
    ) -> TransferOut:
        """A sent transfer of ``items`` sealed items, in a new case (or the sender's ``urn``)."""
        if urn is None:
            urn = new_urn()
            cases.create_case(self.ctx, sender, urn)
        transfer = transfers.create_transfer(self.ctx, sender, urn, list(to), ack)
        for _ in range(items):
            item = item_service.add_item(self.ctx, sender, transfer.id, 100)
            with self.ctx.unit_of_work() as session:
                row = session.get_one(Item, item.id)
                row.state, row.blob_key = "uploaded", f"items/{item.id}"
            wraps = {
                r.recipient: base64.b64encode(b"wrap-" + r.label.encode()).decode()
                for r in transfer.readers
            }
            sealed = base64.b64encode(b"sealed").decode()
            item_service.seal_item(
                self.ctx,
                sender,
                item.id,
                # Built as the route would receive it, but unchecked: a world may hold more
                # readers than one request body carries (test_large_recipient_lists.py).
                SealIn.model_construct(
                    sealed_manifest=sealed, manifest_sha256="a" * 64, wraps=wraps
                ),
            )
        return transfers.send(self.ctx, sender, transfer.id)

    # ── what happened ──

    def entry_bytes(self, index: int) -> bytes:
        """Ledger entry ``index``, its exact bytes."""
        with self.ctx.unit_of_work() as session:
            return LedgerStore(session).entry(index)

    def entries(self, type_: str) -> list[Entry]:
        """The ledger's entries of ``type_``, in order."""
        with self.ctx.unit_of_work() as session:
            store = LedgerStore(session)
            found = [Entry.from_bytes(store.entry(i)) for i in range(store.size())]
        return [e for e in found if e.type == type_]

    def events(self, type_: str) -> list[SecurityEvent]:
        """The security events of ``type_``."""
        with self.ctx.unit_of_work() as session:
            return list(session.scalars(select(SecurityEvent).where(SecurityEvent.type == type_)))

    def user(self, email: str) -> User:
        with self.ctx.unit_of_work() as session:
            user = session.scalars(select(User).where(User.email == email)).one()
            session.expunge(user)
            return user


@dataclass
class Cast:
    """The people most tests need, as the services see them: an officer of Thames Valley
    Police sends to CPS Thames and Chiltern (two prosecutors); each has an admin; an officer
    of Northshire Constabulary is an outsider to both. The same people, by the same
    addresses, sign in to the real servers of the integration tests."""

    world: World
    officer: Actor
    prosecutor: Actor
    prosecutor2: Actor
    police_admin: Actor
    cps_admin: Actor
    outsider: Actor

    @classmethod
    def create(
        cls, folder: Path, db_url: str, *, mail: Mailbox | None = None, start: datetime = T0
    ) -> Cast:
        """The cast on a new world in ``folder``, its clock stopped at ``start``; e-mail goes
        to ``mail``, or to a port where nobody answers."""
        settings = world_settings(
            folder / "data",
            db_url,
            smtp_host="127.0.0.1",
            smtp_port=mail.port if mail else 1,
            escalation_hours=24,
        )
        world = World.create(settings, FixedClock(start))
        world.mail = mail
        return cls.build(world)

    @classmethod
    def build(cls, world: World) -> Cast:
        """The cast in ``world``, with its three organisations."""
        world.organisations()
        people = {
            key: world.add(key, email, org, role, keys=role is not Role.ADMIN).actor
            for key, email, org, role in CAST
        }
        return cls(world, **people)

    @property
    def ctx(self) -> ServiceContext:
        return self.world.ctx

    @property
    def clock(self) -> FixedClock:
        return self.world.clock

    @property
    def police_org(self) -> str:
        return self.world.orgs[POLICE]

    @property
    def cps_org(self) -> str:
        return self.world.orgs[CPS]

    @property
    def smtp(self) -> Mailbox:
        assert self.world.mail is not None, "this world has no mailbox"
        return self.world.mail

    def transfer(
        self, ack: timedelta = timedelta(hours=24), items: int = 1, urn: str | None = None
    ) -> str:
        """A sent transfer from the officer to CPS, ``items`` sealed items, in a new case (or
        in the officer's case ``urn``, opened already)."""
        return self.world.sent_transfer(self.officer, CPS, ack=ack, items=items, urn=urn).id


CAST = (  # key, e-mail, organisation, role; all but the admins with keys
    ("officer", "dc.jones@tvp.police.example", POLICE, Role.OFFICER),
    ("prosecutor", "a.patel@cps.example", CPS, Role.PROSECUTOR),
    ("prosecutor2", "b.okafor@cps.example", CPS, Role.PROSECUTOR),
    ("police_admin", "admin@tvp.police.example", POLICE, Role.ADMIN),
    ("cps_admin", "admin@cps.example", CPS, Role.ADMIN),
    ("outsider", "pc.reid@northshire.police.example", OTHER, Role.OFFICER),
)
