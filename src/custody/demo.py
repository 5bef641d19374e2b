"""The demo: a real server on loopback, driven by the same CLI a person would type.

Each person has their own client folder (``CUSTODY_HOME``), password and key
passphrase; the story is printed step by step as it runs.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import secrets
import shutil
import socket
import subprocess  # starts only our own `custody serve`  # nosec B404
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO, TypeVar

import click
import httpx
import pyotp

from custody.cli.main import main as custody
from custody.client.config import Session
from custody.client.http import Api
from custody.errors import CustodyError, LocalError
from custody.files import write_private
from custody.protocol.transfers import TransferOut, TransferPage
from custody.server import load_log_signer
from custody.settings import Settings

T = TypeVar("T")

URN = "47XX1234567"
POLICE = "Thames Valley Police Interview Unit"
CPS = "CPS Thames and Chiltern"
VIDEO_MIB = 256


def _step(title: str) -> None:
    click.secho(f"\n── {title}", bold=True)


def _explain(text: str) -> None:
    click.echo(f"   {text}")


class Person:
    def __init__(self, workdir: Path, name: str, email: str) -> None:
        self.name = name
        self.email = email
        self.home = workdir / "people" / name
        self.password = secrets.token_urlsafe(12)
        self.passphrase = secrets.token_urlsafe(12)
        self.app: pyotp.TOTP | None = None  # their authenticator app, once enrolled

    def save_credentials(self) -> None:
        """The demo person's password, key passphrase and authenticator secret, 0600, so a
        newcomer can sign in to the web application on the demo's data afterwards."""
        secret = self.app.secret if self.app is not None else "(not enrolled)"
        text = (f"e-mail: {self.email}\npassword: {self.password}\n"
                f"key passphrase: {self.passphrase}\n"
                f"authenticator secret (add it to your app, or: python -c "
                f"\"import pyotp; print(pyotp.TOTP('{secret}').now())\"): {secret}\n")
        write_private(self.home / "demo-credentials.txt", text.encode())

    def log_in(self, url: str, log_key: str, witness_key: str) -> None:
        """Password, then the authenticator app: enrolled from the secret the login shows.

        The first login pins the log's verifier key, which the organisation hands out (here,
        the one `admin init` printed); the server's own answer is only checked against it.
        It pins the witness too: every checkpoint this client takes in must be cosigned by it.
        """
        shown = io.StringIO()
        self.run("login", "--server", url, "--email", self.email, "--log-key", log_key,
                 "--witness", witness_key, tee=shown)
        secret = re.search(r"secret: ([A-Z2-7]+)", shown.getvalue())
        if secret is None:
            raise CustodyError("the login showed no second-factor secret to enrol")
        self.app = pyotp.TOTP(secret[1])
        _explain(f"The {self.name}'s authenticator app takes the secret and shows a code:")
        self.run("enrol", code=self.app.now())

    def run(
        self,
        *argv: str,
        expect_failure: bool = False,
        tee: io.StringIO | None = None,
        code: str | None = None,
    ) -> int:
        shown = " ".join(a if " " not in a else f"'{a}'" for a in argv)
        click.secho(f"   [{self.name}] $ custody {shown}", fg="cyan")
        env = {
            "CUSTODY_HOME": str(self.home),
            "CUSTODY_PASSWORD": self.password,
            "CUSTODY_PASSPHRASE": self.passphrase,
        }
        if code:
            env["CUSTODY_TOTP_CODE"] = code
        # A script, not a terminal: the CLI takes codes from the environment, never prompts.
        with _environment(env), _as_script(tee):
            exit_code = custody(list(argv))
        if (exit_code != 0) != expect_failure:
            raise CustodyError(f"demo step failed unexpectedly: custody {shown} exited {exit_code}")
        return exit_code


class _Tee(io.StringIO):
    def __init__(self, out: TextIO, copy: io.StringIO) -> None:
        super().__init__()
        self._out, self._copy = out, copy

    def write(self, text: str) -> int:
        self._copy.write(text)
        return self._out.write(text)

    def flush(self) -> None:
        self._out.flush()


@contextlib.contextmanager
def _as_script(tee: io.StringIO | None) -> Iterator[None]:
    saved_in, saved_out = sys.stdin, sys.stdout
    sys.stdin = io.StringIO()
    if tee is not None:
        sys.stdout = _Tee(saved_out, tee)
    try:
        yield
    finally:
        sys.stdin, sys.stdout = saved_in, saved_out


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def _operator(*argv: str) -> None:
    """A command the server's operator runs on the server machine (``admin``, ``ledger``)."""
    click.secho(f"   [admin] $ custody {' '.join(argv)}", fg="magenta")
    if custody(list(argv)) != 0:
        raise CustodyError(f"demo step failed: custody {' '.join(argv)}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _process(argv: list[str], url: str, log: Path, env: dict[str, str]) -> Iterator[str]:
    """``python -m custody ARGV`` (our own server or witness) until the block ends; ``url``
    once its /healthz answers."""
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module  # nosec B603
            [sys.executable, "-m", "custody", *argv],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise LocalError(f"the demo's {argv[0]} did not start; see {log}")
                time.sleep(0.1)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _server(
    data_dir: Path, log: Path, witness: tuple[str, str]
) -> contextlib.AbstractContextManager[str]:
    port = _free_port()
    witnesses = f"{witness[1]} {witness[0]}"  # CUSTODY_WITNESSES: "<key> <URL>"
    return _process(["serve", "--data-dir", str(data_dir), "--port", str(port)],
                    f"http://127.0.0.1:{port}", log, {"CUSTODY_WITNESSES": witnesses})


@contextlib.contextmanager
def _witness(workdir: Path, log_key: str) -> Iterator[tuple[str, str]]:
    """Another organisation's witness following the log: its URL and verifier key."""
    _step("2b. A witness run by someone else (here: a court service) follows the log")
    folder = workdir / "witness"
    shown = io.StringIO()
    with _as_script(shown):
        if custody(["witness", "init", str(folder), "--name", "witness.demo/court"]) != 0:
            raise CustodyError("the demo's witness could not make its key")
    witness_key = shown.getvalue().strip().splitlines()[-1]
    port = _free_port()
    _explain(f"$ custody witness serve {folder} --log '{log_key}' --port {port}")
    _explain("It cosigns each checkpoint only after checking it extends the last one it saw;")
    _explain("clients that require its cosignature cannot be shown a history made for them.")
    with _process(["witness", "serve", str(folder), "--log", log_key, "--port", str(port)],
                  f"http://127.0.0.1:{port}", workdir / "witness.log", {}) as url:
        yield url, witness_key


def _make_case_files(folder: Path, marker: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    video = folder / "ABE-interview-victim-01.mp4"
    with video.open("wb") as f:
        block = os.urandom(1024 * 1024)
        for i in range(VIDEO_MIB):
            f.write(i.to_bytes(8, "big") + block[8:])
    statement = folder / "MG11-witness-statement.txt"
    statement.write_text(f"Witness statement (MG11). Reference {marker}.\nI saw the following...\n")
    exhibits = folder / "MG6C-unused-material.csv"
    exhibits.write_text(
        f"exhibit,description\nJB/1,CCTV still,{marker}\nJB/2,phone download,{marker}\n"
    )
    return [video, statement, exhibits]


def _scan(root: Path, needles: list[bytes]) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path}: {n.decode()}" for n in needles if n in data]
    return found


def run(workdir: Path) -> None:
    started = time.monotonic()
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    data = workdir / "server"
    officer = Person(workdir, "officer", "dc.jones@tvp.police.example")
    prosecutor = Person(workdir, "prosecutor", "a.patel@cps.example")
    court = Person(workdir, "court", "")  # an external verifier: no account at all

    log_key = _set_up_server(workdir, data, (officer, POLICE), (prosecutor, CPS))
    with _witness(workdir, log_key) as witness, _server(data, workdir / "server.log",
                                                        witness) as url:
        witness_key = witness[1]
        (workdir / "witness-key.txt").write_text(witness_key + "\n")
        _step(
            f"3. The server runs at {url}, its witness at {witness[0]}; each person logs in,"
            " enrols their authenticator app and makes keys on their own machine"
        )
        for person in (officer, prosecutor):
            person.log_in(url, log_key, witness_key)
            person.run("keys", "init")
        prosecutor.run("checkpoint")
        _explain("Only public keys left those machines; each registration is a ledger entry.")
        files, transfer_id = _send(workdir, data, officer)
        _receive(workdir, data, prosecutor, officer, files, transfer_id)
        _step("9. The custody trail of the interview video")
        video_item = _get(prosecutor, f"/api/v1/transfers/{transfer_id}", TransferOut).items[0].id
        prosecutor.run("history", video_item)
        _step("10. An evidence bundle for a court, and its offline verification")
        bundle = workdir / "bundle.zip"
        prosecutor.run("bundle", video_item, "--out", str(bundle))
    _explain(
        "The server is stopped now: checking needs only the bundle, the file and the log's key."
    )
    court.run("verify", str(bundle), "--log-key", log_key, "--witness", witness_key,
              "--file", str(files[0]))
    _operator("ledger", "verify", "--data-dir", str(data))

    _step(f"Done in {time.monotonic() - started:.0f} s. Left in {workdir}:")
    _explain(f"bundle.zip    the evidence bundle of {files[0].name}")
    _explain("log-key.txt   the log's verifier key")
    _explain("witness-key.txt  the witness's verifier key (its cosignature is in the bundle)")
    _explain(
        f'Check it yourself: custody verify {bundle} --log-key "$(cat {workdir / "log-key.txt"})"'
    )
    for person in (officer, prosecutor):
        person.save_credentials()
    _explain("See it in a browser, on the demo's data (the people's demo credentials are in")
    _explain(f"{workdir / 'people'}/*/demo-credentials.txt, for this demo only):")
    _explain(f"  custody serve --data-dir '{data}' --port 8443")
    _explain(f"  then open http://localhost:8443/login as {prosecutor.email}")


def _set_up_server(workdir: Path, data: Path, *people: tuple[Person, str]) -> str:
    _step("1. An administrator sets up the server: database, custody ledger, its signing key")
    _operator("admin", "init", "--data-dir", str(data), "--origin", "custody.demo/ledger")
    _, signer = load_log_signer(Settings(data_dir=data))
    if signer is None:
        raise CustodyError("admin init left no log key")
    log_key = signer.verifier.vkey
    (workdir / "log-key.txt").write_text(log_key + "\n")

    _step("2. Two organisations, each with an offline recovery key, and their people")
    recovery = workdir / "recovery-keys"
    for org, kind in ((POLICE, "police"), (CPS, "prosecution")):
        _operator(
            "admin",
            "org",
            "create",
            org,
            "--kind",
            kind,
            "--data-dir",
            str(data),
            "--recovery-key-out",
            str(recovery / f"{kind}.txt"),
        )
    for person, org in people:
        role = "officer" if org == POLICE else "prosecutor"
        with _environment({"CUSTODY_NEW_PASSWORD": person.password}):
            _operator(
                "admin",
                "user",
                "create",
                person.email,
                "--org",
                org,
                "--role",
                role,
                "--data-dir",
                str(data),
            )
    return log_key


def _send(workdir: Path, data: Path, officer: Person) -> tuple[list[Path], str]:
    _step(f"4. The officer seals three items for case {URN} and sends them to the prosecution unit")
    marker = f"DEMO-MARKER-{secrets.token_hex(8)}"
    files = _make_case_files(workdir / "officer-files", marker)
    _explain(f"{files[0].name}: a {VIDEO_MIB} MiB interview video; two small documents.")
    officer.run("case", "create", URN)
    officer.run("send", *map(str, files), "--case", URN, "--to", CPS, "--ack-within", "24h")
    transfer_id = _get(officer, "/api/v1/transfers/outbox", TransferPage).transfers[0].id

    _step("5. What someone holding the server's disk would see")
    leaks = _scan(data, [marker.encode(), *(f.name.encode() for f in files)])
    if leaks:
        raise CustodyError("plaintext found on the server: " + "; ".join(leaks))
    blob = next(_stored_items(data))
    _explain(f"Scanned every byte under {data} (database included) for the statement's text")
    _explain("and the three file names: not found. A stored item begins:")
    _explain(repr(blob.read_bytes()[:90]) + " …")
    _explain(
        "— an age file encrypted to a per-item key, which is kept only as wraps, one per reader."
    )
    return files, transfer_id


def _receive(
    workdir: Path,
    data: Path,
    prosecutor: Person,
    officer: Person,
    files: list[Path],
    transfer_id: str,
) -> None:
    _step("6. The prosecutor lists the inbox and receives: download, verify, decrypt")
    prosecutor.run("inbox")
    received = workdir / "received"
    prosecutor.run("receive", transfer_id, "--out", str(received))
    for original in files:
        if (received / original.name).read_bytes() != original.read_bytes():
            raise CustodyError(f"{original.name} differs after the round trip")
    _explain("All three files are byte for byte the originals.")
    prosecutor.run("ack", transfer_id)

    _step("7. The officer sees the transfer acknowledged")
    officer.run("outbox")

    _step(
        "8. Tampering: one flipped byte in a stored item is refused, and nothing of it is released"
    )
    small = min(_stored_items(data), key=lambda p: p.stat().st_size)
    stored = small.read_bytes()
    damaged = bytearray(stored)
    damaged[len(damaged) // 2] ^= 0x01
    small.write_bytes(bytes(damaged))
    try:
        prosecutor.run(
            "receive", transfer_id, "--out", str(workdir / "received-tampered"), expect_failure=True
        )
    finally:
        small.write_bytes(stored)
    _explain("The refusal is itself a ledger entry. The stored item is restored for the rest.")


def _stored_items(data: Path) -> Iterator[Path]:
    return (data / "blobs" / "objects" / "items").iterdir()


def _get(person: Person, path: str, into: type[T]) -> T:
    """Read through the API as ``person``: for ids the story needs next."""
    with _environment({"CUSTODY_HOME": str(person.home)}):
        session = Session.load()
    with Api(session.server, session.token) as api:
        return api.get(path, into)
