"""``custody monitor`` against the real server's public log: it verifies every entry, reports
each access to a watched case as a JSON line, resumes from its state, and on a log that shows
less than it verified before exits with an alarm and posts it, signed, to a webhook."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from support.cli import assert_fails, base_env, ok, run_custody
from support.server import People, Server, make_file
from support.world import new_urn

SECRET = "the DPO's webhook secret"  # noqa: S105 - a test's own


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    got: list[tuple[dict[str, str], bytes]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook", got
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("server", ["sqlite"], indirect=True)
def test_the_monitor_follows_the_log_reports_a_case_and_raises_alarms(
    server: Server, people: People, tmp_path: Path,
    webhook: tuple[str, list[tuple[dict[str, str], bytes]]],
) -> None:
    officer, prosecutor = people.officer, people.prosecutor
    urn = new_urn()
    case_id = json.loads(officer.ok("case", "create", urn, "--json").stdout)["id"]
    tid = officer.send([make_file(tmp_path / "out", "cctv.mp4", 4000)], urn)
    prosecutor.ok("receive", tid, "--out", str(tmp_path / "in"))
    hook_url, posted = webhook
    state = tmp_path / "monitor.json"
    argv = ["monitor", "--log", server.url, "--log-key", server.log_key, "--state", str(state),
            "--case", case_id, "--webhook", hook_url]
    (tmp_path / "dpo").mkdir(mode=0o700)
    env = base_env(CUSTODY_HOME=str(tmp_path / "dpo"), CUSTODY_MONITOR_WEBHOOK_SECRET=SECRET)
    reported: list[dict[str, str]] = []
    deadline = time.monotonic() + 30  # the log signs a checkpoint every few seconds
    while {"item:downloaded", "item:received"} - {r["type"] for r in reported}:
        assert time.monotonic() < deadline, reported
        run = ok(run_custody(argv, env))
        assert "entries verified" in run.stderr
        reported += [json.loads(line) for line in run.stdout.splitlines()]
        time.sleep(0.5)
    assert all(r["case"] == case_id and r["kind"] == "notice" for r in reported)
    assert len([r for r in reported if r["type"] == "item:received"]) == 1  # never twice
    assert len(posted) == len(reported)

    again = ok(run_custody(argv, env))  # from its state: only what is new
    assert not any(json.loads(x)["type"] == "item:received" for x in again.stdout.splitlines())

    # The monitor's memory says it verified a larger tree than the log now shows.
    saved = json.loads(state.read_text())
    saved["replay"]["size"] += 1000
    state.write_text(json.dumps(saved))
    posted.clear()
    assert_fails(run_custody(argv, env), "rollback", code=8)
    ((headers, body),) = posted
    alarm = json.loads(body)
    assert alarm["kind"] == "alarm"
    assert "rollback" in alarm["message"]
    assert alarm["evidence"]["shown"].startswith(server.log_key.split("+")[0])
    signed = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["x-custody-signature"] == f"sha256={signed}"
