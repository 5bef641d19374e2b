"""End-to-end fixtures: a real ``custody serve`` on loopback, and people driving the real CLI.

``server`` is module-scoped and runs once per backend (SQLite, PostgreSQL): ``custody admin
init`` with ``CUSTODY_DATABASE_URL``, three organisations with recovery keys written to files,
four people, then ``custody serve`` as a subprocess on a free loopback port. ``people`` logs
them in and makes their keys (scrypt work factor 2^10, so tests stay fast).

Every CLI call is a separate process with its own environment, stdin, stdout and stderr. Starting
a fresh interpreter costs ~1.3 s (the CLI imports FastAPI, SQLAlchemy, ...), so by default the
calls are forked from one helper process that imported ``custody.cli.main`` once: each fork is a
new process running exactly what the ``custody`` console script runs (``sys.exit(main(argv))``),
with the same exit code, output and traceback behaviour, in a fraction of a second. The server,
the interrupted upload in ``test_resume`` and a "server down" check run the installed script
itself; ``CUSTODY_TEST_REAL_CLI=1`` makes every call do so.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
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
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, func, text
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine

from databases import fresh_postgres


def _root_conftest_constants() -> dict[str, Any]:
    """tests/conftest.py's constants (VECTORS_DIR, ...).

    Without ``__init__.py`` files every conftest is imported as the module ``conftest``; once
    this one is imported, ``from conftest import VECTORS_DIR`` elsewhere (tests/vectors) finds
    this module, so it offers the root conftest's constants too.
    """
    path = Path(__file__).resolve().parents[1] / "conftest.py"
    spec = importlib.util.spec_from_file_location("_custody_root_conftest", path)
    if spec is None or spec.loader is None:  # pragma: no cover
        return {}
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {k: v for k, v in vars(module).items() if k.isupper() and not k.startswith("_")}


globals().update({k: v for k, v in _root_conftest_constants().items() if k not in globals()})
CUSTODY = str(Path(sys.executable).with_name("custody"))
if not Path(CUSTODY).exists():  # pragma: no cover - an unusual install
    CUSTODY = shutil.which("custody") or CUSTODY
CALL_TIMEOUT = 120.0
WORK_FACTOR = "10"

POLICE = "Thames Valley Police"
CPS = "CPS Thames and Chiltern"
OTHER = "Northshire Constabulary"
UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

# The helper: imports the CLI once, then forks one child per request. Requests and replies are
# JSON lines on its stdin/stdout; a child's own stdin/stdout/stderr are files named in the request.
_FORK_HELPER = r"""
import io, json, os, signal, sys, traceback
from custody.cli.main import main

def child(req):
    os.setsid()
    os.chdir(req["cwd"])
    os.environ.clear()
    os.environ.update(req["env"])
    fd = os.open(req["stdin"] or os.devnull, os.O_RDONLY)
    os.dup2(fd, 0)
    for target, name in ((1, "stdout"), (2, "stderr")):
        out = os.open(req[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(out, target)
    def stream(fd, mode):
        raw = io.FileIO(fd, mode, closefd=False)
        return io.TextIOWrapper(io.BufferedReader(raw) if mode == "r" else raw,
                                encoding="utf-8", line_buffering=mode == "w")
    sys.stdin, sys.stdout, sys.stderr = stream(0, "r"), stream(1, "w"), stream(2, "w")
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        code = main(req["argv"])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(code if isinstance(code, int) else 1)

for line in sys.stdin:
    req = json.loads(line)
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        child(req)
    sys.stdout.write(json.dumps({"pid": pid}) + "\n")
    sys.stdout.flush()
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    sys.stdout.write(json.dumps({"rc": code}) + "\n")
    sys.stdout.flush()
"""


class ForkRunner:
    """Runs ``custody ARGV`` in a fresh forked process of a pre-imported helper."""

    def __init__(self, workdir: Path) -> None:
        self._workdir = workdir
        env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTODY_")}
        env["PYTHONIOENCODING"] = "utf-8"
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _FORK_HELPER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd=workdir,
        )
        self._count = 0
        self._pending = b""

    def _reply(self, deadline: float) -> dict[str, Any]:
        """The helper's next JSON line. Read from the pipe's descriptor into our own buffer:
        both lines of a fast call arrive together, and a buffered reader would keep the
        second where ``select`` cannot see it (the next call would wait for nothing)."""
        assert self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        while b"\n" not in self._pending:
            wait = max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([fd], [], [], wait)
            if not ready:
                raise TimeoutError
            chunk = os.read(fd, 65536)
            if not chunk:
                raise RuntimeError("the CLI fork helper died")
            self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def run(self, argv: list[str], env: dict[str, str], cwd: Path, stdin: bytes | None,
            timeout: float) -> subprocess.CompletedProcess[str]:
        self._count += 1
        base = self._workdir / f"call-{self._count}"
        paths = {name: base.with_suffix(f".{name}") for name in ("stdin", "stdout", "stderr")}
        if stdin is not None:
            paths["stdin"].write_bytes(stdin)
        request = {"argv": argv, "env": env, "cwd": str(cwd),
                   "stdin": str(paths["stdin"]) if stdin is not None else None,
                   "stdout": str(paths["stdout"]), "stderr": str(paths["stderr"])}
        assert self._proc.stdin is not None
        self._proc.stdin.write((json.dumps(request) + "\n").encode())
        self._proc.stdin.flush()
        deadline = time.monotonic() + timeout
        pid = int(self._reply(deadline)["pid"])
        try:
            rc = int(self._reply(deadline)["rc"])
        except TimeoutError:
            os.kill(pid, signal.SIGKILL)  # the child we asked for, by its id
            self._reply(time.monotonic() + 10)
            raise subprocess.TimeoutExpired(["custody", *argv], timeout) from None
        out = paths["stdout"].read_text(errors="replace")
        err = paths["stderr"].read_text(errors="replace")
        for p in paths.values():
            p.unlink(missing_ok=True)
        return subprocess.CompletedProcess(["custody", *argv], rc, out, err)

    def close(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()


_RUNNER: ForkRunner | None = None


def base_env(**extra: str) -> dict[str, str]:
    """The environment of a CLI call: this one without CUSTODY_*, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTODY_")}
    env.update({"LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8"})
    env.update(extra)
    return env


def run_custody(argv: list[str], env: dict[str, str], *, cwd: Path | None = None,
                input: bytes | None = None, timeout: float = CALL_TIMEOUT,
                real: bool = False) -> subprocess.CompletedProcess[str]:
    """``custody ARGV`` as a separate process; stdout and stderr decoded as UTF-8."""
    cwd = cwd or Path(env.get("CUSTODY_HOME") or env.get("HOME") or Path.cwd())
    if _RUNNER is None or real or os.environ.get("CUSTODY_TEST_REAL_CLI"):
        done = subprocess.run([CUSTODY, *argv], env=env, cwd=cwd, input=input,
                              capture_output=True, timeout=timeout, check=False)
        return subprocess.CompletedProcess(done.args, done.returncode,
                                           done.stdout.decode(errors="replace"),
                                           done.stderr.decode(errors="replace"))
    return _RUNNER.run(argv, env, cwd, input, timeout)


@pytest.fixture(scope="session")
def cli_runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    global _RUNNER  # noqa: PLW0603 - one helper for the session, used by plain functions
    if os.environ.get("CUSTODY_TEST_REAL_CLI"):
        yield
        return
    _RUNNER = ForkRunner(tmp_path_factory.mktemp("cli-calls"))
    try:
        yield
    finally:
        _RUNNER.close()
        _RUNNER = None


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    """The call succeeded; on failure, show everything it said."""
    assert result.returncode == 0, (
        f"{' '.join(map(str, result.args))} exited {result.returncode}\n"
        f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    assert "Traceback" not in result.stdout + result.stderr
    return result


def assert_fails(result: subprocess.CompletedProcess[str], *words: str,
                 code: int | None = None) -> str:
    """A clear refusal: non-zero exit, ``error: ...`` naming ``words``, no traceback anywhere."""
    said = f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.returncode != 0, f"expected a failure, got exit 0\n{said}"
    assert "Traceback" not in result.stdout + result.stderr, said
    assert "internal error" not in result.stderr, said
    assert result.stderr.startswith("error:"), said
    for word in words:
        assert word.lower() in result.stderr.lower(), f"{word!r} not in the error\n{said}"
    if code is not None:
        assert result.returncode == code, said
    return result.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ── the server ──────────────────────────────────────────────────────────────────────────────


@contextlib.contextmanager
def _fresh_database(backend: str, data_dir: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{data_dir / 'custody.db'}"
        return
    with fresh_postgres("custody_it") as url:
        yield url


GROUP_BY_STATE = {table: text(f"SELECT state, count(*) FROM {table} GROUP BY state")  # noqa: S608
                  for table in ("transfers", "items")}


class Mailbox:
    """A real SMTP server (aiosmtpd) on loopback: what the server e-mails, as people read it."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []  # (to, body)
        self._controller = Controller(self, hostname="127.0.0.1", port=free_port())
        self._controller.start()
        self.port = int(self._controller.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        from email import message_from_bytes  # noqa: PLC0415 - only the mail thread needs it

        message = message_from_bytes(envelope.content)
        raw = message.get_payload(decode=True)
        body = raw.decode() if isinstance(raw, bytes) else str(message.get_payload())
        self.messages.extend((to, body) for to in envelope.rcpt_tos)
        return "250 OK"

    def code_for(self, email: str, flag: str) -> str:
        """The one-time code in the newest e-mail to ``email`` (``--activation-code`` ...)."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            bodies = [body for to, body in self.messages if to == email]
            found = re.search(rf"{flag} ([A-Z2-7-]+)", bodies[-1]) if bodies else None
            if found:
                return found[1]
            time.sleep(0.05)
        raise AssertionError(f"no {flag} e-mailed to {email}: {self.messages}")

    def stop(self) -> None:
        self._controller.stop()


@dataclass
class Account:
    key: str
    email: str
    org: str
    role: str
    password: str


@dataclass
class Server:
    backend: str
    url: str
    data_dir: Path
    db_url: str
    log_key: str
    log_path: Path
    recovery_keys: dict[str, Path]
    accounts: dict[str, Account]
    work: Path
    proc: subprocess.Popen[bytes]
    engine: Engine = field(repr=False)
    mailbox: Mailbox = field(repr=False)

    @property
    def web_url(self) -> str:
        """The web application's address (CUSTODY_PUBLIC_URL): the same server, by name."""
        return self.url.replace("127.0.0.1", "localhost")

    @property
    def blobs(self) -> Path:
        return self.data_dir / "blobs" / "objects" / "items"

    @property
    def staging(self) -> Path:
        return self.data_dir / "blobs" / "uploads"

    def admin(self, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
        return self.operator("admin", *argv, **env)

    def operator(self, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
        """An operator command on the server's machine (``--data-dir`` and database given)."""
        environment = base_env(CUSTODY_DATABASE_URL=self.db_url, HOME=str(self.work), **env)
        return ok(run_custody([*argv, "--data-dir", str(self.data_dir)], environment,
                              cwd=self.work))

    def add_user(self, key: str, email: str, org: str, role: str) -> Account:
        account = Account(key, email, org, role, f"pw-{key}-{uuid.uuid4().hex[:12]}")
        self.admin("user", "create", email, "--org", org, "--role", role,
                   CUSTODY_NEW_PASSWORD=account.password)
        self.accounts[key] = account
        return account

    def query(self, statement: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(text(statement), params))

    def snapshot(self) -> dict[str, int]:
        """Row counts of everything a client action could create or change."""
        counts: dict[str, int] = {}
        with self.engine.connect() as conn:
            for table in ("cases", "transfers", "transfer_recipients", "items", "key_wraps",
                          "uploads", "ledger_entries", "user_keys", "users"):
                counts[table] = int(conn.execute(
                    sa_select(func.count()).select_from(text(table))).scalar_one())
            for table in ("transfers", "items"):
                query = GROUP_BY_STATE[table]
                counts.update({f"{table}:{state}": int(n) for state, n in conn.execute(query)})
            counts["acknowledged_at"] = int(conn.execute(text(
                "SELECT count(acknowledged_at) FROM transfers")).scalar_one())
        counts["staged files"] = len(list(self.staging.iterdir())) if self.staging.exists() else 0
        counts["blobs"] = len(list(self.blobs.iterdir())) if self.blobs.exists() else 0
        return counts


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
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


@pytest.fixture(scope="module", params=[
    "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
           cli_runner: None) -> Iterator[Server]:
    """A running server on a fresh database of one backend, with its organisations and people."""
    backend: str = request.param
    work = tmp_path_factory.mktemp(f"server-{backend}")
    data_dir = work / "data"
    with _fresh_database(backend, data_dir) as db_url:
        env = base_env(CUSTODY_DATABASE_URL=db_url, HOME=str(work))
        init = ok(run_custody(["admin", "init", "--data-dir", str(data_dir),
                               "--origin", "custody.test/ledger"], env, cwd=work))
        lines = init.stdout.splitlines()
        log_key = lines[lines.index(next(x for x in lines if "verifier key" in x)) + 1].strip()
        assert log_key.startswith("custody.test/ledger+"), init.stdout

        recovery = {}
        for kind, name in (("police", POLICE), ("prosecution", CPS), ("police", OTHER)):
            path = work / "recovery" / f"{re.sub(r'[^a-z]+', '-', name.lower())}.txt"
            path.parent.mkdir(exist_ok=True)
            ok(run_custody(["admin", "org", "create", name, "--kind", kind, "--data-dir",
                            str(data_dir), "--recovery-key-out", str(path)], env, cwd=work))
            recovery[name] = path

        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log_path = work / "server.log"
        mailbox = Mailbox()  # one-time codes go to people by e-mail, never to an admin
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [CUSTODY, "serve", "--data-dir", str(data_dir), "--port", str(port)],
                # The web application's address (CSRF origin, WebAuthn relying party): a browser
                # opens http://localhost, a secure context where IP addresses are no RP id.
                env={**env, "CUSTODY_PUBLIC_URL": f"http://localhost:{port}",
                     "CUSTODY_SMTP_HOST": "127.0.0.1", "CUSTODY_SMTP_PORT": str(mailbox.port)},
                cwd=work, stdout=log, stderr=subprocess.STDOUT)
        engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1))
        srv = Server(backend, url, data_dir, db_url, log_key, log_path, recovery, {}, work,
                     proc, engine, mailbox)
        try:
            for key, email, org, role in (
                ("officer", "dc.jones@tvp.police.example", POLICE, "officer"),
                ("prosecutor", "a.patel@cps.example", CPS, "prosecutor"),
                ("prosecutor2", "b.okafor@cps.example", CPS, "prosecutor"),
                ("outsider", "pc.reid@northshire.police.example", OTHER, "officer"),
            ):
                srv.add_user(key, email, org, role)
            _wait_healthy(url, proc, log_path)
            yield srv
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            engine.dispose()
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
        self._last_step = 0

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
            fresh = [s for s in (now, now + 1) if s > self._last_step]
            if fresh:
                self._last_step = fresh[0]
                return self.totp.generate_otp(fresh[0])
            time.sleep(1)  # three logins within one step: wait for the next

    def keys_init(self) -> None:
        self.ok("keys", "init")

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
    person = Person(server, server.add_user(key, email, org, role), home)
    person.login()
    if keys:
        person.keys_init()
    return person


@pytest.fixture(scope="module")
def people(server: Server) -> People:
    """The four people, logged in, each with keys registered."""
    made = {}
    for key in ("officer", "prosecutor", "prosecutor2", "outsider"):
        person = Person(server, server.accounts[key], server.work / "people" / key)
        person.login()
        person.keys_init()
        made[key] = person
    return People(**made)


_URNS = iter(range(1, 10**6))


def new_case(person: Person) -> str:
    """A fresh case URN, opened by ``person``."""
    urn = f"47TV{next(_URNS):07d}"
    person.ok("case", "create", urn)
    return urn


def make_file(folder: Path, name: str, size: int = 0, content: bytes | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content if content is not None else os.urandom(size))
    return path


def item_ids(person: Person, transfer_id: str) -> list[str]:
    return [i["id"] for i in person.transfer(transfer_id)["items"]]
