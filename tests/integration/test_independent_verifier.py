"""A third-party C2SP implementation checks custody's evidence bundles and its live log.

``tests/independent/c2sp_verify.go`` is built on Go's ``golang.org/x/mod/sumdb/note`` and
``golang.org/x/mod/sumdb/tlog`` (Debian: golang-go, golang-golang-x-mod-dev) and shares no code
with custody: it holds only the log's verifier key. It must accept the demo's bundle and prove
entries from the live log's tiles, and, like ``custody verify``, refuse a bundle in which one
byte of any entry, any proof or the checkpoint was altered, or a bundle checked with another key.
"""

from __future__ import annotations

import base64
import hashlib
import random
import re
import sqlite3
import subprocess
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from support.cli import CUSTODY, assert_fails, base_env, free_port, ok, run_custody
from support.go import build_go
from support.server import stop

IMMUTABLE = "public, max-age=31536000, immutable"
GROW_BY = 700  # entries appended to the demo's log, so it has full tiles and a level-1 tile
FLIP_SEED = 20260301


# ── fixtures ────────────────────────────────────────────────────────────────────────────────


@pytest.fixture(scope="module")
def go_verifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The independent verifier, built in GOPATH mode against Debian's x/mod source."""
    return build_go("c2sp_verify.go", tmp_path_factory.mktemp("c2sp-verify"))


@dataclass(frozen=True)
class Demo:
    workdir: Path
    bundle: Path
    log_key: str


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """``custody demo`` once: a real server, real people, a real evidence bundle and log key."""
    workdir = tmp_path_factory.mktemp("demo") / "dd"
    done = subprocess.run(
        [CUSTODY, "demo", "--workdir", str(workdir)],
        env=base_env(HOME=str(workdir.parent)),
        cwd=workdir.parent,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"custody demo failed:\n{done.stdout}\n{done.stderr}"
    log_key = (workdir / "log-key.txt").read_text().strip()
    return Demo(workdir, workdir / "bundle.zip", log_key)


def _go(binary: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(binary), *args], capture_output=True, text=True, timeout=120, check=False
    )


def _custody_verify(
    bundle: Path, log_key: str, *, real: bool = False
) -> subprocess.CompletedProcess[str]:
    return run_custody(
        ["verify", str(bundle), "--log-key", log_key],
        base_env(HOME=str(bundle.parent)),
        cwd=bundle.parent,
        real=real,
    )


def _vkey(name: str, public_key: bytes) -> str:
    """A C2SP signed-note Ed25519 verifier key, spelled out from the spec."""
    key_id = hashlib.sha256(name.encode() + b"\n\x01" + public_key).digest()[:4]
    key = base64.b64encode(b"\x01" + public_key).decode()
    return f"{name}+{key_id.hex()}+{key}"


def _other_keys(log_key: str) -> dict[str, str]:
    name, _, b64 = log_key.split("+", 2)
    real_public = base64.b64decode(b64)[1:]
    fresh = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {
        "same name, another key": _vkey(name, fresh),
        "the log's key under another name": _vkey(name + "-other", real_public),
    }


# ── the bundle ──────────────────────────────────────────────────────────────────────────────


def test_demo_bundle_verifies_independently_and_with_custody(
    go_verifier: Path, demo: Demo, cli_runner: None
) -> None:
    with zipfile.ZipFile(demo.bundle) as zf:
        names = zf.namelist()
        cp_size = int(zf.read("checkpoint").decode().split("\n")[1])
    entries = sorted(int(n.removeprefix("entries/")) for n in names if n.startswith("entries/"))
    assert entries, names
    assert {f"proofs/{i}.tlog-proof" for i in entries} <= set(names)

    go = _go(go_verifier, "bundle", str(demo.bundle), demo.log_key)
    assert go.returncode == 0, go.stdout + go.stderr
    proven = [int(m) for m in re.findall(r"^entry (\d+): included", go.stdout, re.M)]
    assert proven == entries, go.stdout
    assert f"OK {len(entries)} entries" in go.stdout
    assert f"size {cp_size} " in go.stdout

    custody = ok(_custody_verify(demo.bundle, demo.log_key, real=True))
    assert "VERIFIED" in custody.stdout
    assert f"tree size {cp_size}" in custody.stdout
    # The demo's checkpoint is cosigned by its witness: the Go verifier above knew only the
    # log's key and ignored that line; custody verify --witness checks it.
    witness_key = (demo.workdir / "witness-key.txt").read_text().strip()
    cosigned = ok(run_custody(["verify", str(demo.bundle), "--log-key", demo.log_key,
                               "--witness", witness_key], base_env(HOME=str(demo.workdir))))
    assert "cosigned by 1 of 1 witnesses (quorum 1): witness.demo/court" in cosigned.stdout


def _flip_positions(name: str, data: bytes) -> list[tuple[int, int]]:
    """(position, xor mask): first, middle, last, structural spots, and seeded random ones."""
    rng = random.Random(f"{FLIP_SEED}:{name}")  # noqa: S311 - reproducible, not secret
    spots = {0: 0x01, len(data) // 2: 0x01, len(data) - 1: 0x01}
    text = data.decode("ascii", errors="replace")
    if name.startswith("proofs/"):
        spots[text.index("index ") + len("index ")] = 0x01  # the index digit
        spots[text.index("\n\n")] = 0x01  # the blank line before the checkpoint
        spots[text.index("\n\n") + 2 + 5] = 0x01  # inside the embedded checkpoint
        spots[text.index("\n\n") - 3] = 0x01  # the last proof hash, near its padding
    if name == "checkpoint":
        starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n" and i + 1 < len(text)]
        for start in starts:  # origin, size, root hash, blank line, signature line
            spots[start] = 0x01
        spots[text.rindex(" ") + 1] = 0x01  # the signature's base64
        spots[len(data) - 3] = 0x01  # the signature's last base64 digit
    for _ in range(3):
        spots[rng.randrange(len(data))] = rng.randrange(1, 256)
    return sorted(spots.items())


def _rewrite(src: Path, dst: Path, member: str, data: bytes) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info, data if info.filename == member else zin.read(info))


@pytest.mark.parametrize("kind", ["entries/", "proofs/", "checkpoint"])
def test_one_altered_byte_fails_both_verifiers(
    go_verifier: Path, demo: Demo, cli_runner: None, tmp_path: Path, kind: str
) -> None:
    with zipfile.ZipFile(demo.bundle) as zf:
        members = {n: zf.read(n) for n in zf.namelist() if n.startswith(kind)}
    assert members, f"the bundle has no {kind} member"
    tampered = tmp_path / "tampered.zip"
    survivors = []
    tried = 0
    for name, original in sorted(members.items()):
        for pos, mask in _flip_positions(name, original):
            altered = bytearray(original)
            altered[pos] ^= mask
            _rewrite(demo.bundle, tampered, name, bytes(altered))
            tried += 1
            where = f"{name} byte {pos} ^ {mask:#04x}"
            go = _go(go_verifier, "bundle", str(tampered), demo.log_key)
            if go.returncode != 1 or not go.stderr.startswith("FAIL: "):
                survivors.append(f"c2sp-verify accepted {where}: {go.returncode} {go.stdout}")
            custody = _custody_verify(tampered, demo.log_key)
            if custody.returncode != 8 or not custody.stderr.startswith("error: "):
                survivors.append(
                    f"custody verify {where}: exit {custody.returncode}, "
                    f"want 8 (integrity)\n{custody.stdout}{custody.stderr}"
                )
    assert tried >= 6 * len(members)
    assert not survivors, "\n".join(survivors)


def test_another_verifier_key_fails_both(go_verifier: Path, demo: Demo, cli_runner: None) -> None:
    for what, vkey in _other_keys(demo.log_key).items():
        go = _go(go_verifier, "bundle", str(demo.bundle), vkey)
        assert go.returncode == 1, f"{what}: {go.stdout}"
        assert "checkpoint" in go.stderr, go.stderr
        assert_fails(_custody_verify(demo.bundle, vkey), code=8)


# ── the live log, through its tiles ─────────────────────────────────────────────────────────


@dataclass(frozen=True)
class LiveLog:
    url: str
    size: int
    db: Path
    log_key: str


def _grow(data_dir: Path, count: int) -> int:
    """Append ``count`` entries through custody's own sequencer, as a busy server would."""
    from custody.ledger.entry import Entry  # noqa: PLC0415 - only this fixture needs the store
    from custody.store.db import make_engine, make_sessionmaker, transaction  # noqa: PLC0415
    from custody.store.ledger_store import LedgerStore  # noqa: PLC0415

    now = datetime.now(UTC)
    engine = make_engine(f"sqlite:///{data_dir / 'custody.db'}")
    try:
        with transaction(make_sessionmaker(engine)) as session:
            store = LedgerStore(session)
            store.append_many(
                [Entry("test:filler", now, "system", data={"n": i}) for i in range(count)]
            )
            size = store.size()
    finally:
        engine.dispose()
    return size


@pytest.fixture(scope="module")
def live_log(demo: Demo) -> Iterator[LiveLog]:
    """``custody serve`` on the demo's server data dir, its log grown past two full tiles."""
    data_dir = demo.workdir / "server"
    size = _grow(data_dir, GROW_BY)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = demo.workdir / "serve-tiles.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [CUSTODY, "serve", "--data-dir", str(data_dir), "--port", str(port)],
            env=base_env(HOME=str(demo.workdir)),
            cwd=demo.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        signed = None
        while signed != size:  # up, and the background publisher has signed the new size
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"custody serve: no checkpoint of size {size}:\n{log_path.read_text()}")
            time.sleep(0.1)
            try:
                response = httpx.get(f"{url}/checkpoint", timeout=2)
            except httpx.TransportError:
                continue
            if response.status_code == 200:
                signed = int(response.text.split("\n")[1])
        yield LiveLog(url, size, data_dir / "custody.db", demo.log_key)
    finally:
        stop(proc)


def _indexes(size: int) -> list[str]:
    return [str(i) for i in sorted({0, 1, 255, 256, 511, 512, size // 2, size - 1})]


def test_tiles_prove_entries_against_the_signed_checkpoint(
    go_verifier: Path, live_log: LiveLog
) -> None:
    assert live_log.size > 2 * 256
    go = _go(go_verifier, "tiles", live_log.url, live_log.log_key, *_indexes(live_log.size))
    assert go.returncode == 0, go.stdout + go.stderr
    proven = [int(m) for m in re.findall(r"^entry (\d+): included", go.stdout, re.M)]
    assert proven == [int(i) for i in _indexes(live_log.size)], go.stdout
    assert f"against tree size {live_log.size}" in go.stdout


def test_tiles_with_another_key_fail(go_verifier: Path, live_log: LiveLog) -> None:
    for what, vkey in _other_keys(live_log.log_key).items():
        go = _go(go_verifier, "tiles", live_log.url, vkey, "0")
        assert go.returncode == 1, f"{what}: {go.stdout}"
        assert go.stderr.startswith("FAIL: checkpoint signature"), f"{what}: {go.stderr}"


@pytest.mark.parametrize(
    ("table", "column", "where", "row", "entry", "expect"),
    [
        # a leaf hash in full tile 0/000: refused although the proof of 100 does not use it
        ("ledger_nodes", "hash", 'level = 0 AND "index" = ?', 100, 100, "inconsistent tile"),
        # a level-8 hash (tile 1/000.p/2) the tree hash is computed from
        ("ledger_nodes", "hash", 'level = 8 AND "index" = ?', 1, 300, "inconsistent tile"),
        # an entry in entry bundle 1: its leaf is not in the tree
        ("ledger_entries", "body", '"index" = ?', 300, 300, "inclusion proof"),
    ],
)
def test_tiles_from_a_lying_server_fail(
    go_verifier: Path,
    live_log: LiveLog,
    table: str,
    column: str,
    where: str,
    row: int,
    entry: int,
    expect: str,
) -> None:
    """One byte altered behind the server's back: the tile (or entry bundle) no longer proves."""
    query = f"SELECT {column} FROM {table} WHERE {where}"  # noqa: S608 - constants above
    update = f"UPDATE {table} SET {column} = ? WHERE {where}"  # noqa: S608 - constants above
    with sqlite3.connect(live_log.db) as conn:
        (original,) = conn.execute(query, (row,)).fetchone()
    altered = bytearray(original)
    altered[len(altered) // 2] ^= 0x01
    try:
        with sqlite3.connect(live_log.db) as conn:
            conn.execute(update, (bytes(altered), row))
        go = _go(go_verifier, "tiles", live_log.url, live_log.log_key, str(entry))
        assert go.returncode == 1, go.stdout
        assert expect in go.stderr, go.stderr
    finally:
        with sqlite3.connect(live_log.db) as conn:
            conn.execute(update, (original, row))
    go = _go(go_verifier, "tiles", live_log.url, live_log.log_key, str(entry))
    assert go.returncode == 0, go.stdout + go.stderr


def test_tile_responses(live_log: LiveLog) -> None:
    size = live_log.size
    last_width = size % 256
    assert last_width, "the test wants a partial last tile"
    level1_width = size // 256
    with httpx.Client(base_url=live_log.url, timeout=10) as client:  # no credentials at all
        cp = client.get("/checkpoint")
        assert cp.status_code == 200
        assert cp.text.split("\n")[:2] == [live_log.log_key.split("+")[0], str(size)]

        for path in ("/tile/0/000", "/tile/0/001", "/tile/entries/000", "/tile/entries/001"):
            response = client.get(path)
            assert response.status_code == 200, (path, response.text)
            assert response.headers["cache-control"] == IMMUTABLE, path
            if "entries" not in path:
                assert len(response.content) == 256 * 32, path

        for path, length in (
            (f"/tile/0/002.p/{last_width}", last_width * 32),
            (f"/tile/1/000.p/{level1_width}", level1_width * 32),
            (f"/tile/entries/002.p/{last_width}", None),
        ):
            response = client.get(path)
            assert response.status_code == 200, (path, response.text)
            assert response.headers["cache-control"] != IMMUTABLE, path
            assert "immutable" not in response.headers["cache-control"], path
            if length is not None:
                assert len(response.content) == length, path

        for path in (
            "/tile/0/002",  # not full yet
            f"/tile/0/002.p/{last_width + 1}",
            "/tile/0/003",
            "/tile/0/x001/000",
            "/tile/1/000",
            f"/tile/1/000.p/{level1_width + 1}",
            "/tile/2/000.p/1",
            "/tile/entries/002",
            "/tile/entries/003",
        ):
            response = client.get(path)
            assert response.status_code == 404, (path, response.status_code, response.text)
