"""Two real ``custody serve`` processes on one database: each alert is delivered exactly once.

The servers run in development mode with a file clock (``CUSTODY_TEST_CLOCK_FILE``) moved
25 hours ahead and a 0.2 s watcher interval; a real SMTP server (aiosmtpd) and a webhook
receiver on loopback count what arrives. The data is made through the services directly,
so this test does not depend on how people log in.
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from conftest import CUSTODY, _fresh_database, _wait_healthy, base_env, free_port, ok, run_custody

sys.path.insert(0, str(Path(__file__).parents[1] / "unit" / "services"))
from delivery_world import (
    Hooks,
    Inbox,
    make_world,
    smtp_controller,
    webhook_server,
)

from custody.services import outbox


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_two_servers_send_each_alert_once(backend: str, tmp_path: Path, cli_runner: None) -> None:
    data_dir = tmp_path / "data"
    inbox, hooks = Inbox(), Hooks()
    smtp, http = smtp_controller(inbox), webhook_server(hooks)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with _fresh_database(backend, data_dir) as db_url:
            env = base_env(CUSTODY_DATABASE_URL=db_url, HOME=str(tmp_path))
            ok(run_custody(["admin", "init", "--data-dir", str(data_dir)], env, cwd=tmp_path))
            now = datetime.now(UTC)
            for w in make_world(db_url, data_dir, smtp.port, inbox, start=now):
                base = f"http://127.0.0.1:{http.server_address[1]}"
                hooks.secrets["/cps"] = outbox.set_webhook(w.ctx, w.cps_org, f"{base}/cps")
                tid = w.transfer(ack=timedelta(hours=24))
                acked = w.transfer(ack=timedelta(hours=24))
                from custody.services import transfers  # noqa: PLC0415 - the world's services
                transfers.acknowledge(w.ctx, w.prosecutor, acked, without_receipt=True)
            clock = tmp_path / "clock"
            clock.write_text(str(25 * 3600))
            hooks.now = int((datetime.now(UTC) + timedelta(hours=25)).timestamp())
            server_env = {**env, "CUSTODY_MODE": "development",
                          "CUSTODY_TEST_CLOCK_FILE": str(clock),
                          "CUSTODY_WATCHER_INTERVAL_SECONDS": "0.2",
                          "CUSTODY_SMTP_HOST": "127.0.0.1", "CUSTODY_SMTP_PORT": str(smtp.port)}
            for n in range(2):
                port = free_port()
                log = tmp_path / f"server{n}.log"
                with log.open("wb") as out:
                    procs.append(subprocess.Popen(
                        [CUSTODY, "serve", "--data-dir", str(data_dir), "--port", str(port)],
                        env=server_env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT))
                _wait_healthy(f"http://127.0.0.1:{port}", procs[-1], log)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and (len(inbox.messages) < 4 or not hooks.received):
                time.sleep(0.2)
            time.sleep(2)  # ten more watcher passes in each process: nothing may repeat
            to = sorted(m["to"] for m in inbox.messages)
            assert to == ["a.patel@cps.example", "admin@cps.example", "b.okafor@cps.example",
                          "dc.jones@tvp.police.example"], to
            assert all(tid in m["subject"] for m in inbox.messages)  # not the acknowledged one
            assert [(b["transfer"], ok_) for b, ok_ in hooks.received] == [(tid, True)]
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=15)
        smtp.stop()
        http.shutdown()
        http.server_close()
