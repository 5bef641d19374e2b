"""``custody serve --workers N``: several processes behind one port (issue 13).

On PostgreSQL each worker builds its own app from the same CUSTODY_* environment and the
same data folder; uvicorn's supervisor replaces a worker that dies. The embedded SQLite
store serves one process, so there the option is refused with what to do instead.
"""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from support.cli import base_env, free_port, run_custody
from support.server import Server, serving

pytestmark = pytest.mark.slow


def _workers(supervisor: int) -> set[int]:
    """The worker processes uvicorn's supervisor ``supervisor`` spawned (multiprocessing)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:  # it ended while we looked
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == supervisor and b"spawn_main" in cmdline:
            found.add(int(entry.name))
    return found


def _wait_for_workers(supervisor: int, count: int, without: int = 0) -> set[int]:
    deadline = time.monotonic() + 60
    while True:
        workers = _workers(supervisor)
        if len(workers) == count and without not in workers:
            return workers
        if time.monotonic() > deadline:
            pytest.fail(f"expected {count} workers of {supervisor}, found {sorted(workers)}")
        time.sleep(0.1)


def test_workers_on_postgresql_share_one_port_and_a_killed_one_is_replaced(
    postgresql_server: Server, tmp_path: Path
) -> None:
    server = postgresql_server
    officer = server.people.officer
    auth = {"Authorization": f"Bearer {officer.session['token']}"}
    with serving(server.data_dir, server.env, "--workers", "2", cwd=tmp_path) as node:
        workers = _wait_for_workers(node.proc.pid, 2)

        def me(_: int) -> tuple[int, str]:
            answer = httpx.get(f"{node.url}/api/v1/me", headers=auth, timeout=60)
            return answer.status_code, answer.json().get("email", "")

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(me, range(40)))
        assert answers == [(200, officer.email)] * 40

        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        replaced = _wait_for_workers(node.proc.pid, 2, without=victim)
        assert victim not in replaced
        assert httpx.get(f"{node.url}/readyz", timeout=60).text == "ready\n"
        assert me(0) == (200, officer.email)
        assert node.proc.poll() is None, "the supervisor outlived its worker"


def test_workers_on_sqlite_are_refused_saying_what_to_do(tmp_path: Path) -> None:
    done = run_custody(
        ["serve", "--workers", "2", "--data-dir", str(tmp_path / "data"),
         "--port", str(free_port())],
        base_env(HOME=str(tmp_path)),
    )
    assert done.returncode != 0
    assert "--workers needs PostgreSQL" in done.stderr
    assert "CUSTODY_DATABASE_URL" in done.stderr
