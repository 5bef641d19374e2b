"""Two real ``custody serve`` processes on one database: each alert is delivered exactly once.

The servers run in development mode with a file clock (``CUSTODY_TEST_CLOCK_FILE``) moved
25 hours ahead and a 0.2 s watcher interval; a real SMTP server (aiosmtpd) and a webhook
receiver on loopback count what arrives. The data is made through the services directly,
so this test does not depend on how people log in.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from custody.services import outbox, transfers
from support.cli import base_env, ok, run_custody
from support.databases import BACKENDS, fresh_database
from support.mail import Mailbox, Webhooks
from support.server import serving
from support.world import Cast


def _alerts(mailbox: Mailbox) -> list[dict[str, str]]:
    """The watcher's alerts, not the e-mails about new transfers and their acknowledgement."""
    ours = ("A transfer from", "Your transfer was")
    return [m for m in mailbox.messages if not m["subject"].startswith(ours)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_servers_send_each_alert_once(
    backend: str, tmp_path: Path, mailbox: Mailbox, cli_runner: None
) -> None:
    data_dir = tmp_path / "data"
    hooks = Webhooks()
    try:
        with fresh_database(backend, data_dir) as db_url, ExitStack() as servers:
            env = base_env(CUSTODY_DATABASE_URL=db_url, HOME=str(tmp_path))
            ok(run_custody(["admin", "init", "--data-dir", str(data_dir)], env, cwd=tmp_path))
            w = Cast.create(tmp_path, db_url, mail=mailbox, start=datetime.now(UTC))
            try:
                hooks.secrets["/cps"] = outbox.set_webhook(w.ctx, w.cps_org, f"{hooks.url}/cps")
                tid = w.transfer(ack=timedelta(hours=24))
                acked = w.transfer(ack=timedelta(hours=24))
                transfers.acknowledge(w.ctx, w.prosecutor, acked, without_receipt=True)
            finally:
                w.world.close()
            clock = tmp_path / "clock"
            clock.write_text(str(25 * 3600))
            hooks.now = int((datetime.now(UTC) + timedelta(hours=25)).timestamp())
            server_env = {**env, "CUSTODY_MODE": "development",
                          "CUSTODY_TEST_CLOCK_FILE": str(clock),
                          "CUSTODY_WATCHER_INTERVAL_SECONDS": "0.2",
                          "CUSTODY_SMTP_HOST": "127.0.0.1", "CUSTODY_SMTP_PORT": str(mailbox.port)}
            for _ in range(2):
                servers.enter_context(serving(data_dir, server_env, cwd=tmp_path))
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and (
                len(_alerts(mailbox)) < 4 or not hooks.received
            ):
                time.sleep(0.2)
            time.sleep(2)  # ten more watcher passes in each process: nothing may repeat
            to = sorted(m["to"] for m in _alerts(mailbox))
            assert to == ["a.patel@cps.example", "admin@cps.example", "b.okafor@cps.example",
                          "dc.jones@tvp.police.example"], to
            assert all(tid in m["subject"] for m in _alerts(mailbox))  # not the acknowledged one
            assert [(b["transfer"], ok_) for b, ok_ in hooks.received] == [(tid, True)]
    finally:
        hooks.stop()
