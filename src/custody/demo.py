"""The demo: a real server on loopback, driven by the same CLI a person would type.

Each person has their own client folder (``CUSTODY_HOME``), password and key
passphrase; the story is printed step by step as it runs.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import click
import httpx

from custody.cli.main import main as custody
from custody.errors import CustodyError, LocalError

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

    def run(self, *argv: str, expect_failure: bool = False) -> int:
        shown = " ".join(a if " " not in a else f"'{a}'" for a in argv)
        click.secho(f"   [{self.name}] $ custody {shown}", fg="cyan")
        env = {"CUSTODY_HOME": str(self.home), "CUSTODY_PASSWORD": self.password,
               "CUSTODY_PASSPHRASE": self.passphrase}
        with _environment(env):
            code = custody(list(argv))
        if (code != 0) != expect_failure:
            raise CustodyError(f"demo step failed unexpectedly: custody {shown} exited {code}")
        return code


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


def _admin(*argv: str) -> None:
    click.secho(f"   [admin] $ custody admin {' '.join(argv)}", fg="magenta")
    if custody(["admin", *argv]) != 0:
        raise CustodyError(f"demo step failed: custody admin {' '.join(argv)}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _server(data_dir: Path, log: Path) -> Iterator[str]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "custody", "serve", "--data-dir", str(data_dir), "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise LocalError(f"the demo server did not start; see {log}")
                time.sleep(0.1)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


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
    exhibits.write_text(f"exhibit,description\nJB/1,CCTV still,{marker}\nJB/2,phone download,{marker}\n")
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

    _step("1. An administrator sets up the server: database, custody ledger, its signing key")
    _admin("init", "--data-dir", str(data), "--origin", "custody.demo/ledger")
    log_key = (data / "log-origin.txt").read_text().strip()
    from custody.api.app import load_log_signer  # noqa: PLC0415
    from custody.settings import Settings  # noqa: PLC0415

    _, signer = load_log_signer(Settings(data_dir=data))
    assert signer is not None
    log_key = signer.verifier.vkey
    (workdir / "log-key.txt").write_text(log_key + "\n")

    _step("2. Two organisations, each with an offline recovery key, and their people")
    recovery = workdir / "recovery-keys"
    recovery.mkdir()
    _admin("org", "create", POLICE, "--kind", "police", "--data-dir", str(data),
           "--recovery-key-out", str(recovery / "police.txt"))
    _admin("org", "create", CPS, "--kind", "prosecution", "--data-dir", str(data),
           "--recovery-key-out", str(recovery / "cps.txt"))
    for person, org, role in ((officer, POLICE, "officer"), (prosecutor, CPS, "prosecutor")):
        with _environment({"CUSTODY_NEW_PASSWORD": person.password}):
            _admin("user", "create", person.email, "--org", org, "--role", role, "--data-dir", str(data))

    with _server(data, workdir / "server.log") as url:
        _step(f"3. The server runs at {url}; each person logs in and makes their keys on their own machine")
        for person in (officer, prosecutor):
            person.run("login", "--server", url, "--email", person.email)
            person.run("keys", "init")
        _explain("Only public keys left those machines; each registration is a ledger entry.")

        _step(f"4. The officer seals three items for case {URN} and sends them to the prosecution unit")
        marker = f"DEMO-MARKER-{secrets.token_hex(8)}"
        files = _make_case_files(workdir / "officer-files", marker)
        _explain(f"{files[0].name}: {VIDEO_MIB} MiB interview video; two small documents.")
        officer.run("case", "create", URN)
        officer.run("send", *map(str, files), "--case", URN, "--to", CPS, "--ack-within", "24h")
        transfer_id = _latest(officer, "outbox")

        _step("5. What someone holding the server's disk would see")
        needles = [marker.encode(), *(f.name.encode() for f in files)]
        leaks = _scan(data, needles)
        if leaks:
            raise CustodyError("plaintext found on the server: " + "; ".join(leaks))
        blob = next((data / "blobs" / "objects" / "items").iterdir())
        _explain(f"Scanned every byte under {data} (database included) for the statement's text and")
        _explain("the three file names: not found. A stored item begins:")
        _explain(repr(blob.read_bytes()[:90]) + " …")
        _explain("— an age file encrypted to a per-item key; only wraps of that key, one per reader, are kept.")

        _step("6. The prosecutor lists the inbox, receives (download, verify signature and hashes, decrypt)")
        prosecutor.run("inbox")
        received = workdir / "received"
        prosecutor.run("receive", transfer_id, "--out", str(received))
        for original in files:
            if (received / original.name).read_bytes() != original.read_bytes():
                raise CustodyError(f"{original.name} differs after the round trip")
        _explain("All three files are byte-for-byte the originals.")
        prosecutor.run("ack", transfer_id)

        _step("7. The officer sees the transfer acknowledged")
        officer.run("outbox")

        _step("8. Tampering: one flipped byte in a stored item is refused, and nothing is released")
        small = min((p for p in (data / "blobs" / "objects" / "items").iterdir()), key=lambda p: p.stat().st_size)
        original_bytes = small.read_bytes()
        damaged = bytearray(original_bytes)
        damaged[len(damaged) // 2] ^= 0x01
        small.write_bytes(bytes(damaged))
        tampered_out = workdir / "received-tampered"
        prosecutor.run("receive", transfer_id, "--out", str(tampered_out), expect_failure=True)
        left = [p.name for p in tampered_out.iterdir() if not p.name.startswith(".")] if tampered_out.exists() else []
        _explain(f"Files released from the tampered copy: {left or 'none'} (the untouched ones before it verified).")
        small.write_bytes(original_bytes)
        _explain("The refusal is itself in the ledger. The stored item was restored.")

        _step("9. The custody trail of the interview video")
        video_item = _item_of(prosecutor, transfer_id, 0)
        prosecutor.run("history", video_item)

        _step("10. An evidence bundle for a court, and its offline verification")
        bundle = workdir / "bundle.zip"
        prosecutor.run("bundle", video_item, "--out", str(bundle))
    _explain("The server is stopped now: verification needs only the bundle and the log's key.")
    officer.run("verify", str(bundle), "--log-key", log_key, "--file", str(files[0]))
    _admin("ledger", "verify", "--data-dir", str(data)) if False else custody(["ledger", "verify", "--data-dir", str(data)])

    _step(f"Done in {time.monotonic() - started:.0f} s. Left in {workdir}:")
    _explain(f"bundle.zip    the evidence bundle of {files[0].name}")
    _explain("log-key.txt   the log's verifier key")
    _explain(f"Check it yourself: custody verify {bundle} --log-key \"$(cat {workdir / 'log-key.txt'})\"")


def _latest(person: Person, box: str) -> str:
    import json  # noqa: PLC0415

    from custody.client.config import Session  # noqa: PLC0415
    from custody.client.http import Api  # noqa: PLC0415

    with _environment({"CUSTODY_HOME": str(person.home)}):
        session = Session.load()
    with Api(session.server, session.token) as api:
        rows = api.get(f"/api/v1/transfers/{box}")
    del json
    return str(rows[0]["id"])


def _item_of(person: Person, transfer_id: str, position: int) -> str:
    from custody.client.config import Session  # noqa: PLC0415
    from custody.client.http import Api  # noqa: PLC0415

    with _environment({"CUSTODY_HOME": str(person.home)}):
        session = Session.load()
    with Api(session.server, session.token) as api:
        transfer = api.get(f"/api/v1/transfers/{transfer_id}")
    return str(transfer["items"][position]["id"])
