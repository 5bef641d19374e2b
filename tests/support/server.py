"""A world served by a real ``custody serve`` on loopback, and people at their own machines.

:func:`shared_server` is what most integration tests run against, one per backend for the
whole session (``sqlite_server``, ``postgresql_server`` in :mod:`support.plugin`): the data
folder made by ``custody admin init`` as an operator makes it, the world's organisations and
people made through the services (cheapest argon2id, development mode), then ``custody
serve`` as a subprocess with a real SMTP server for the one-time codes it e-mails. The four
people of the cast log in with the real CLI and make their keys (scrypt work factor 2^10, so
tests stay fast).

Tests on a shared server stay independent of each other: each opens its own case
(:func:`new_case`), and a test that changes a person's state, or who belongs to an
organisation, makes its own people (:func:`new_person`) in an organisation of its own
(``server.world.new_org``). Tests that need settings of their own start their own server
with :func:`serving`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from sqlalchemy import func, text
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine

from custody.domain.people import Role
from custody.ledger.entry import Entry
from custody.settings import Settings
from support.cli import CALL_TIMEOUT, CUSTODY, base_env, free_port, ok, run_custody
from support.databases import fresh_database
from support.mail import Mailbox
from support.swift import Swift
from support.world import CAST, CPS, Account, World, environment, new_urn, world_settings

WORK_FACTOR = "10"
UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
GROUP_BY_STATE = {table: text(f"SELECT state, count(*) FROM {table} GROUP BY state")  # noqa: S608
                  for table in ("transfers", "items")}


def wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"custody serve did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.05)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """End a server this process started: asked to stop, killed if it has not in 15 s."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@dataclass
class Serving:
    """A running ``custody serve``: its address, its process and what it logs."""

    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path


@contextlib.contextmanager
def serving(data_dir: Path, env: dict[str, str], *extra: str,
            cwd: Path | None = None) -> Iterator[Serving]:
    """``custody serve --data-dir DATA_DIR [EXTRA...]`` on a free loopback port, until the block
    ends."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cwd = cwd or data_dir.parent
    log_path = cwd / f"serve-{port}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [CUSTODY, "serve", "--data-dir", str(data_dir), "--port", str(port), *extra],
            env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_healthy(url, proc, log_path)
        yield Serving(url, proc, log_path)
    finally:
        stop(proc)


class StoredBlobs:
    """The blobs a server's store holds, as its operator (or an intruder) reaches them:
    files under the data folder, or objects in Swift's bucket."""

    def __init__(self, data_dir: Path, swift: Swift | None = None, bucket: str = "",
                 prefix: str = "custody") -> None:
        self.objects = data_dir / "blobs" / "objects" / "items"
        self.staging = data_dir / "blobs" / "uploads"
        self.swift, self.bucket, self.prefix = swift, bucket, prefix

    def _name(self, item: str) -> str:
        return f"{self.prefix}/objects/items/{item}"

    def read(self, item: str) -> bytes:
        if self.swift is None:
            return (self.objects / item).read_bytes()
        body = self.swift.client().get_object(Bucket=self.bucket, Key=self._name(item))["Body"]
        with body:
            return body.read()

    def write(self, item: str, data: bytes) -> None:
        if self.swift is None:
            (self.objects / item).write_bytes(data)
        else:
            self.swift.client().put_object(Bucket=self.bucket, Key=self._name(item), Body=data)

    def exists(self, item: str) -> bool:
        if self.swift is None:
            return (self.objects / item).exists()
        return item in self._listing("objects/items/")

    def count(self) -> int:
        """How many blobs are published."""
        if self.swift is None:
            return len(list(self.objects.iterdir())) if self.objects.exists() else 0
        return len(self._listing("objects/items/"))

    def staged(self) -> dict[str, int]:
        """Each upload in progress and the bytes the store holds of it."""
        if self.swift is None:
            if not self.staging.exists():
                return {}
            return {p.stem: p.stat().st_size for p in self.staging.glob("*.part") if p.exists()}
        client, found = self.swift.client(), {}
        for name in self._listing("uploads/"):
            upload, _, rest = name.partition("/")
            if rest == "state":
                body = client.get_object(Bucket=self.bucket,
                                         Key=f"{self.prefix}/uploads/{name}")["Body"]
                with body:
                    found[upload] = int(json.loads(body.read())["offset"])
        return found

    def _listing(self, under: str) -> list[str]:
        assert self.swift is not None
        pages = self.swift.client().get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=f"{self.prefix}/{under}")
        start = len(self.prefix) + 1 + len(under)
        return [o["Key"][start:] for page in pages for o in page.get("Contents", [])]


@dataclass
class Server:
    """A running server of one backend, the world it serves, and its people.

    Backends: ``sqlite`` (SQLite and blob files: the embedded default), ``postgresql``
    (PostgreSQL and blob files) and ``swift`` (PostgreSQL and Swift's S3: the stack of a
    national service, docs/deployment.md).
    """

    backend: str
    url: str
    world: World
    log_path: Path
    work: Path
    proc: subprocess.Popen[bytes] | None = field(repr=False)  # None: nodes of a cluster
    mailbox: Mailbox = field(repr=False)
    stored: StoredBlobs = field(repr=False)
    people: People | None = field(default=None, repr=False)

    @property
    def data_dir(self) -> Path:
        return self.world.settings.data_dir

    @property
    def db_url(self) -> str:
        return self.world.settings.effective_database_url

    @property
    def log_key(self) -> str:
        return self.world.log_key

    @property
    def engine(self) -> Engine:
        """The server's database, as its operator (or an intruder on its machine) reaches it."""
        engine = self.world.ctx.sessions.kw["bind"]
        assert isinstance(engine, Engine)
        return engine

    @property
    def recovery_keys(self) -> dict[str, Path]:
        return self.world.recovery_keys

    @property
    def accounts(self) -> dict[str, Account]:
        return self.world.accounts

    @property
    def web_url(self) -> str:
        """The web application's address (CUSTODY_PUBLIC_URL): the same server, by name."""
        return self.url.replace("127.0.0.1", "localhost")

    @property
    def blobs(self) -> Path:
        return self.data_dir / "blobs" / "objects" / "items"

    @contextlib.contextmanager
    def flipped_byte(self, item: str) -> Iterator[Path]:
        """One bit of ``item``'s stored blob flipped, in the middle, and put back afterwards:
        the server is shared, and later tests (a backup, a scrub) expect its store intact."""
        blob = self.blobs / item
        stored = blob.read_bytes()
        damaged = bytearray(stored)
        damaged[len(damaged) // 2] ^= 0x01
        blob.write_bytes(bytes(damaged))
        try:
            yield blob
        finally:
            blob.write_bytes(stored)

    @property
    def staging(self) -> Path:
        return self.data_dir / "blobs" / "uploads"

    @property
    def store_env(self) -> dict[str, str]:
        """The variables that name the server's blob store (none for the default files)."""
        return {name: value for name, value in environment(self.world.settings).items()
                if name == "CUSTODY_BLOB_URL" or name.startswith("CUSTODY_S3_")}

    @property
    def env(self) -> dict[str, str]:
        """The environment ``custody serve`` runs in: another node of this server starts
        with it (and the same ``--data-dir``, for its secrets)."""
        return base_env(**environment(self.world.settings), HOME=str(self.work))

    def admin(self, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
        return self.operator("admin", *argv, **env)

    def operator(self, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
        """An operator command on the server's machine (``--data-dir`` and its database; no
        SMTP: one-time codes are printed for the operator to hand over)."""
        environment = base_env(CUSTODY_DATABASE_URL=self.db_url, HOME=str(self.work),
                               **{**self.store_env, **env})
        return ok(run_custody([*argv, "--data-dir", str(self.data_dir)], environment,
                              cwd=self.work))

    def add_user(self, key: str, email: str, org: str, role: str) -> Account:
        """A person an admin adds (through the services), with a password of their own."""
        password = f"pw-{key}-{uuid.uuid4().hex[:12]}"
        return self.world.add(key, email, org, Role(role), password=password)

    def query(self, statement: str, **params: Any) -> list[Any]:
        with self.world.ctx.sessions() as session:
            return list(session.execute(text(statement), params))

    def snapshot(self) -> dict[str, int]:
        """Row counts of everything a client action could create or change.

        A refusal summary (the count of refusals already recorded, written whenever their
        window has closed, perhaps during a later test) is no change a test made: the
        ledger's entries are counted without them."""
        counts: dict[str, int] = {}
        with self.world.ctx.sessions() as session:
            for table in ("cases", "transfers", "transfer_recipients", "items", "key_wraps",
                          "uploads", "user_keys", "users"):
                counts[table] = int(session.execute(
                    sa_select(func.count()).select_from(text(table))).scalar_one())
            bodies = session.execute(text("SELECT body FROM ledger_entries")).scalars()
            counts["ledger_entries"] = sum(1 for body in bodies if not _is_summary(bytes(body)))
            for table in ("transfers", "items"):
                query = GROUP_BY_STATE[table]
                counts.update({f"{table}:{state}": int(n) for state, n in session.execute(query)})
            counts["acknowledged_at"] = int(session.execute(text(
                "SELECT count(acknowledged_at) FROM transfers")).scalar_one())
        counts["staged files"] = len(self.stored.staged())  # uploads in progress
        counts["blobs"] = self.stored.count()
        return counts


def served_world(settings: Settings, log_key: str, mailbox: Mailbox) -> World:
    """The world of a real server's database, its mail read from ``mailbox``: the
    organisations and the cast (the admin aside), each with a password to sign in with."""
    world = World.open(settings, log_key)
    world.mail = mailbox
    world.organisations()
    for key, email, org, role in CAST:
        if role is not Role.ADMIN:
            world.add(key, email, org, role, password=f"pw-{key}-{uuid.uuid4().hex[:12]}")
    return world


def signed_in_people(server: Server, work: Path) -> People:
    """The cast's people, each signed in to ``server`` at their own machine under ``work``."""
    return People(**{
        key: Person.signed_in(server, server.accounts[key], work / "people" / key)
        for key in ("officer", "prosecutor", "prosecutor2", "outsider")})


def _is_summary(body: bytes) -> bool:
    """A refusal summary: the count of identical refusals recorded before it."""
    return b'"repeats":' in body and "repeats" in Entry.from_bytes(body).data


@contextlib.contextmanager
def shared_server(backend: str, work: Path, swift: Swift | None = None) -> Iterator[Server]:
    """A running server on a fresh database of ``backend``, with the cast logged in; on
    ``swift``, PostgreSQL and a fresh bucket of that Swift."""
    data_dir = work / "data"
    blob_settings: dict[str, str] = {}
    stored = StoredBlobs(data_dir)
    if backend == "swift":
        assert swift is not None
        bucket = swift.new_bucket()
        blob_settings = swift.settings(bucket)
        stored = StoredBlobs(data_dir, swift, bucket)
    with fresh_database("postgresql" if backend == "swift" else backend, data_dir) as db_url:
        mailbox = Mailbox()  # one-time codes go to people by e-mail, never to an admin
        port = free_port()
        settings = world_settings(
            data_dir, db_url,
            # The web application's address (CSRF origin, WebAuthn relying party): a browser
            # opens http://localhost, a secure context where IP addresses are no RP id.
            public_url=f"http://localhost:{port}",
            smtp_host="127.0.0.1", smtp_port=mailbox.port, **blob_settings,
        )
        env = base_env(**environment(settings), HOME=str(work))
        init = ok(run_custody(["admin", "init", "--data-dir", str(data_dir),
                               "--origin", "custody.test/ledger"], env, cwd=work))
        lines = init.stdout.splitlines()
        log_key = lines[lines.index(next(x for x in lines if "verifier key" in x)) + 1].strip()
        assert log_key.startswith("custody.test/ledger+"), init.stdout
        world = served_world(settings, log_key, mailbox)
        log_path = work / "server.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [CUSTODY, "serve", "--data-dir", str(data_dir), "--port", str(port)],
                env=env, cwd=work, stdout=log, stderr=subprocess.STDOUT)
        server = Server(backend, f"http://127.0.0.1:{port}", world, log_path, work, proc,
                        mailbox, stored)
        try:
            wait_healthy(server.url, proc, log_path)
            server.people = signed_in_people(server, work)
            yield server
        finally:
            stop(proc)
            world.close()
            mailbox.stop()


# ── people ──────────────────────────────────────────────────────────────────────────────────


class Person:
    """One person at their own machine: a CUSTODY_HOME, a password and a key passphrase."""

    def __init__(self, server: Server, account: Account, home: Path) -> None:
        self.server = server
        self.account = account
        self.email = account.email
        self.home = home
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.passphrase = f"pass-{account.key}-{uuid.uuid4().hex[:12]}"
        self.totp: pyotp.TOTP | None = None  # this person's authenticator app, once enrolled
        # The last time step whose code was used: one box, shared by every copy of this
        # person's machine (one authenticator app; the server takes no code twice).
        self._last_step = [0]

    @property
    def password(self) -> str:
        return self.account.password

    def env(self, **overrides: str) -> dict[str, str]:
        # CUSTODY_LOG_KEY: the log's verifier key, as an organisation would hand it out; the
        # first login pins it (tests of pinning itself leave it out).
        values = {"CUSTODY_HOME": str(self.home), "CUSTODY_PASSWORD": self.password,
                  "CUSTODY_PASSPHRASE": self.passphrase, "CUSTODY_KEY_WORK_FACTOR": WORK_FACTOR,
                  "CUSTODY_LOG_KEY": self.server.log_key, "HOME": str(self.home)}
        values.update(overrides)
        return base_env(**values)

    def run(self, *args: str, input: bytes | None = None, env: dict[str, str] | None = None,
            real: bool = False, timeout: float = CALL_TIMEOUT) -> subprocess.CompletedProcess[str]:
        return run_custody([str(a) for a in args], env or self.env(), cwd=self.home, input=input,
                           real=real, timeout=timeout)

    def ok(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return ok(self.run(*args, **kwargs))

    def login(self, *extra: str, url: str | None = None) -> None:
        """Log in; the first time, enrol an authenticator app (pyotp) from the secret shown.

        ``extra``: e.g. ``--activation-code CODE`` for an account an admin added; ``url``:
        another address for the server (a proxy in front of it).
        """
        args = ("login", "--server", url or self.server.url, "--email", self.email, *extra)
        if self.totp is None:
            shown = self.ok(*args).stdout
            match = re.search(r"secret: ([A-Z2-7]+)", shown)
            assert match, shown
            self.totp = pyotp.TOTP(match[1])
            self._last_step[0] = 0  # a new secret: the server has seen none of its codes
            self.ok("enrol", env=self.env(CUSTODY_TOTP_CODE=self.code()))
        else:
            self.ok(*args, env=self.env(CUSTODY_TOTP_CODE=self.code()))

    def code(self) -> str:
        """A code the server has not seen: this time step or the next, not yet used.

        Never the previous step: on a loaded machine the server's clock can cross into
        the next step before the code arrives, and then the previous one is out of its
        window (±1 step)."""
        assert self.totp is not None
        while True:
            now = self.totp.timecode(datetime.now(UTC))
            fresh = [s for s in (now, now + 1) if s > self._last_step[0]]
            if fresh:
                self._last_step[0] = fresh[0]
                return self.totp.generate_otp(fresh[0])
            time.sleep(1)  # three logins within one step: wait for the next

    def keys_init(self) -> None:
        self.ok("keys", "init")

    def at_another_machine(self, home: Path) -> Person:
        """This person with a copy of their machine's custody folder as it is now (keys,
        pins, what it verified) and the same authenticator app."""
        shutil.copytree(self.home, home, dirs_exist_ok=True)
        copy = Person(self.server, self.account, home)
        copy.passphrase, copy.totp, copy._last_step = self.passphrase, self.totp, self._last_step
        return copy

    @classmethod
    def signed_in(cls, server: Server, account: Account, home: Path, *,
                  keys: bool = True) -> Person:
        """``account``'s person, logged in (enrolled) at their machine, with keys if ``keys``."""
        person = cls(server, account, home)
        person.login()
        if keys:
            person.keys_init()
        return person

    @property
    def session(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.home / "session.json").read_text())
        return data

    @property
    def key_file(self) -> Path:
        return self.home / "keys" / f"{self.session['user_id']}.age"

    def api(self) -> httpx.Client:
        """An HTTP client with this person's bearer token (use it as a context manager)."""
        return httpx.Client(base_url=self.server.url, timeout=60,
                            headers={"Authorization": f"Bearer {self.session['token']}"})

    def get(self, path: str) -> Any:
        with self.api() as api:
            response = api.get(path)
        assert response.status_code == 200, response.text
        return response.json()

    def transfer(self, transfer_id: str) -> dict[str, Any]:
        data: dict[str, Any] = self.get(f"/api/v1/transfers/{transfer_id}")
        return data

    def history(self, ref: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.get(f"/api/v1/history/{ref}")
        return rows

    def send(self, files: list[Path], case: str, *to: str) -> str:
        """Send ``files``; return the transfer id."""
        args: list[str] = ["send", *map(str, files), "--case", case]
        for target in to or (CPS,):
            args += ["--to", target]
        out = self.ok(*args).stdout
        match = re.search(rf"Sent transfer ({UUID_RE})", out)
        assert match, out
        return match[1]


@dataclass
class People:
    officer: Person
    prosecutor: Person
    prosecutor2: Person
    outsider: Person


def new_person(server: Server, home: Path, key: str, email: str, org: str, role: str,
               *, keys: bool = True) -> Person:
    """A person created now (admin), logged in, with keys unless told otherwise."""
    return Person.signed_in(server, server.add_user(key, email, org, role), home, keys=keys)


def new_case(person: Person) -> str:
    """A fresh case URN, opened by ``person``."""
    urn = new_urn()
    person.ok("case", "create", urn)
    return urn


def make_file(folder: Path, name: str, size: int = 0, content: bytes | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content if content is not None else os.urandom(size))
    return path


def item_ids(person: Person, transfer_id: str) -> list[str]:
    return [i["id"] for i in person.transfer(transfer_id)["items"]]
