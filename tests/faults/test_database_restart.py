"""PostgreSQL restarted under a real ``custody serve`` (issue 15's fault suite).

The test runs its own PostgreSQL cluster (``initdb`` on a free port, as the ``postgres`` user
when run as root), so restarting it disturbs nothing else. While it is down: readiness says
which part is missing, a write is refused with a clear 503 that says to try again and leaves
nothing behind, and a read (``custody inbox``) waits and succeeds once the database is back.
Afterwards the ledger verifies and an item sent before the restart is received intact.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

import support.databases
from support.cli import free_port, ok
from support.server import make_file, new_case, shared_server
from support.world import new_urn

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.postgres]


@dataclass
class PrivatePostgres:
    data: Path
    port: int
    bin: Path
    as_postgres: list[str]

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def ctl(self, *argv: str) -> None:
        subprocess.run([*self.as_postgres, str(self.bin / "pg_ctl"), "-D", str(self.data),
                        *argv], check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data.parent}"
        self.ctl("-o", options, "-l", str(self.data.parent / "postgres.log"), "-w", "start")

    def stop(self) -> None:
        self.ctl("-m", "fast", "-w", "stop")


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not bins:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL's server binaries are required under CI")
        pytest.skip("no PostgreSQL server binaries under /usr/lib/postgresql")
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    folder = Path(tempfile.mkdtemp(prefix="custody-pg-"))
    if as_postgres:
        shutil.chown(folder, "postgres", "postgres")
    data = folder / "data"
    subprocess.run([*as_postgres, str(bins[-1]), "-D", str(data), "-A", "trust", "-U",
                    "postgres", "--no-sync"], check=True, capture_output=True, timeout=120)
    pg = PrivatePostgres(data, free_port(), bins[-1].parent, as_postgres)
    pg.start()
    try:
        yield pg
    finally:
        try:
            pg.ctl("-m", "immediate", "stop")
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def test_postgres_restarted_mid_traffic(
    private_postgres: PrivatePostgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    cli_runner: None,
) -> None:
    monkeypatch.setattr(support.databases, "POSTGRES_ADMIN_URL", private_postgres.url)
    (tmp_path / "work").mkdir()
    with shared_server("postgresql", tmp_path / "work") as server:
        assert server.people is not None
        officer, prosecutor = server.people.officer, server.people.prosecutor
        urn = new_case(officer)
        sent = make_file(tmp_path / "out", "statement.pdf", 20_000)
        tid = officer.send([sent], urn)
        entries_before = server.query("SELECT count(*) FROM ledger_entries")[0][0]

        private_postgres.stop()
        ready = httpx.get(f"{server.url}/readyz", timeout=30)
        assert ready.status_code == 503
        assert "database" in ready.text
        refused = officer.run("case", "create", (lost := new_urn()))
        assert refused.returncode == 9, refused.stderr  # server unavailable: its own exit code
        assert "database did not answer; nothing was changed" in refused.stderr
        assert "try again in a few seconds" in refused.stderr

        # A read started while the database is down waits for it, and succeeds.
        result: dict[str, object] = {}
        reader = threading.Thread(target=lambda: result.update(
            inbox=prosecutor.run("inbox", "--json", real=True)))
        reader.start()
        time.sleep(2)
        private_postgres.start()
        reader.join(timeout=120)
        inbox = result["inbox"]
        assert isinstance(inbox, subprocess.CompletedProcess)
        assert inbox.returncode == 0, inbox.stderr
        assert tid in inbox.stdout

        assert httpx.get(f"{server.url}/readyz", timeout=30).status_code == 200
        assert server.query("SELECT count(*) FROM cases WHERE urn = :u", u=lost)[0][0] == 0
        assert server.query("SELECT count(*) FROM ledger_entries")[0][0] >= entries_before
        prosecutor.ok("receive", tid, "--out", str(tmp_path / "in"))
        assert (tmp_path / "in" / "statement.pdf").read_bytes() == sent.read_bytes()
        assert "Ledger OK" in ok(server.operator("ledger", "verify")).stdout
