"""The inbox page with tens of thousands of transfers: how long ``/inbox`` takes over real HTTP.

Makes a database (SQLite by default; ``--postgres URL`` for an empty PostgreSQL database) as
``custody admin init`` does, with three organisations and their people made through the
services, then writes ``--transfers`` transfers (default 20,000) straight into the tables,
all to one prosecutor of one organisation: in 2,000 cases, from two police forces, one item
each, in every state (most acknowledged, some awaiting acknowledgement, some overdue, some
revoked), sent over the past year. Only the rows an inbox reads are written (no ledger
entries: the list reads none). Then starts ``custody serve`` on that data, signs the
prosecutor in (a browser session, made as a security-key sign-in makes one), and times each
page with a real HTTP client over loopback, ``--runs`` times after two warm-up requests:

- the first page of the inbox (50 transfers, newest first);
- the second page (by the first page's cursor);
- filtered pages: one sender organisation and a state, overdue only, one case's URN, one
  transfer id.

Prints the median and the 90th percentile of each, in milliseconds (the issue asks for the
first page and a filtered page under 200 ms), and checks that each answer is a 200 with the
rows it should hold. Needs only the project's virtualenv.

    .venv/bin/python bench/inbox.py [--transfers 20000] [--runs 25]
    .venv/bin/python bench/inbox.py --postgres postgresql+psycopg://127.0.0.1/custody_bench
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the test support: a world made through the services

import httpx  # noqa: E402 (after the path)
from sqlalchemy import insert, select, text  # noqa: E402

from custody.domain.people import Role  # noqa: E402
from custody.http.deps import SESSION_COOKIE  # noqa: E402
from custody.services import web_sessions  # noqa: E402
from custody.store.models import (  # noqa: E402
    Case,
    Item,
    Transfer,
    TransferRecipient,
    UserKey,
)
from support.cli import CUSTODY, base_env, free_port  # noqa: E402
from support.world import CPS, OTHER, POLICE, World, environment, world_settings  # noqa: E402

CASES = 2000
ROW = re.compile(r'data-transfer="([0-9a-f-]{36})"')


def fill(world: World, count: int, seed: int, items_per_transfer: int = 1) -> dict[str, Any]:
    """``count`` transfers to the prosecutor, each of ``items_per_transfer`` items; returns
    what the filtered pages ask for (and, for bench/scale.py, who and what was made)."""
    rng = random.Random(seed)  # noqa: S311 - made-up data, the same for every run
    officer = world.add("officer", "dc.jones@tvp.police.example", POLICE, Role.OFFICER,
                        keys=True)
    other = world.add("other", "dc.smith@northshire.police.example", OTHER, Role.OFFICER,
                      keys=True)
    prosecutor = world.add("prosecutor", "a.patel@cps.example", CPS, Role.PROSECUTOR,
                           keys=True)
    now = datetime.now(UTC)
    with world.ctx.unit_of_work() as session:
        key_index = {
            a.user_id: session.scalar(
                select(UserKey.ledger_index).where(UserKey.user_id == a.user_id))
            for a in (officer, other)
        }
        cases = []
        for n in range(CASES):
            sender = officer if n % 10 else other  # one case in ten is the other force's
            cases.append({"id": str(uuid.uuid4()), "urn": f"47TV{n:07d}",
                          "owner_org_id": sender.org_id, "created_by": sender.user_id,
                          "created_at": now - timedelta(days=400), "_sender": sender})
        session.execute(insert(Case), [{k: v for k, v in c.items() if k != "_sender"}
                                       for c in cases])
        transfers, recipients, items = [], [], []
        for n in range(count):
            case = cases[rng.randrange(CASES)]
            sender = case["_sender"]
            sent = now - timedelta(seconds=rng.randrange(365 * 86400))
            deadline = sent + timedelta(hours=72)
            roll = rng.random()
            state = ("acknowledged" if roll < 0.6 else "revoked" if roll < 0.65
                     else "delivered" if roll < 0.8 else "sent")
            tid = str(uuid.uuid4())
            transfers.append({
                "id": tid, "case_id": case["id"], "sender_id": sender.user_id,
                "sender_org_id": sender.org_id, "recipient_org_id": prosecutor.org_id,
                "recipient_unit_id": None, "state": state,
                "sender_key_index": key_index[sender.user_id], "ack_within_seconds": 72 * 3600,
                "created_at": sent - timedelta(minutes=5), "sent_at": sent,
                "ack_deadline": deadline, "delivered_at": None,
                "acknowledged_at": sent + timedelta(hours=3) if state == "acknowledged" else None,
                "acknowledged_by": prosecutor.user_id if state == "acknowledged" else None,
            })
            recipients.append({"transfer_id": tid, "user_id": prosecutor.user_id})
            items.extend({
                "id": str(uuid.uuid4()), "transfer_id": tid, "case_id": case["id"],
                "position": position, "state": "sealed", "ciphertext_size": 1_000_000 + n,
                "ciphertext_sha256": "ab" * 32, "blob_key": None, "upload_id": None,
                "sealed_manifest": b"sealed", "manifest_sha256": "cd" * 32,
                "created_at": sent - timedelta(minutes=5), "sealed_at": sent,
            } for position in range(items_per_transfer))
        for table, rows in ((Transfer, transfers), (TransferRecipient, recipients),
                            (Item, items)):
            for start in range(0, len(rows), 5000):
                session.execute(insert(table), rows[start:start + 5000])
    if world.settings.database_url.startswith("postgresql"):
        # What autovacuum does within a minute of a load like this one: fresh statistics, so
        # the planner knows one person holds all these rows.
        with world.ctx.unit_of_work() as session:
            session.execute(text("ANALYZE"))
    newest_case = max(transfers, key=lambda t: t["created_at"])["case_id"]
    return {
        "prosecutor": prosecutor.user_id,
        "officer": officer.user_id,
        "urn": next(c["urn"] for c in cases if c["id"] == newest_case),
        "transfer": transfers[count // 2]["id"],
        "transfers": transfers,
        "items": items,
    }


def wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    sys.exit(f"custody serve did not start:\n{log.read_text(errors='replace')}")


def timed(client: httpx.Client, path: str, runs: int, rows: int | None) -> list[float]:
    """``runs`` timings of GET ``path`` in ms, after two warm-ups; each answer is checked."""
    times = []
    for n in range(runs + 2):
        start = time.perf_counter()
        response = client.get(path)
        elapsed = (time.perf_counter() - start) * 1000
        if response.status_code != 200:
            sys.exit(f"GET {path}: {response.status_code}\n{response.text[:2000]}")
        found = len(ROW.findall(response.text.split('id="transfers"', 1)[-1]))
        if rows is not None and found != rows:
            sys.exit(f"GET {path}: {found} rows, expected {rows}")
        if n >= 2:
            times.append(elapsed)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transfers", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=25, help="timed requests per page")
    parser.add_argument("--postgres", metavar="URL", default=None,
                        help="an empty PostgreSQL database (default: SQLite in a temp folder)")
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="custody-inbox-bench-"))
    data = work / "data"
    url = args.postgres or f"sqlite:///{data / 'custody.db'}"
    port = free_port()
    settings = world_settings(data, url, public_url=f"http://127.0.0.1:{port}")
    world = World.create(settings)
    world.organisations()
    started = time.perf_counter()
    asked = fill(world, args.transfers, args.seed)
    filled = time.perf_counter() - started
    session = web_sessions.issue(world.ctx, asked["prosecutor"], None).token
    world.close()

    log = work / "serve.log"
    env = base_env(**environment(settings), HOME=str(work))
    with log.open("wb") as out:
        proc = subprocess.Popen([CUSTODY, "serve", "--data-dir", str(data), "--port", str(port)],
                                env=env, cwd=work, stdout=out, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base, proc, log)
        with httpx.Client(base_url=base, cookies={SESSION_COOKIE: session},
                          timeout=30) as client:
            first = client.get("/inbox").text
            cursor = re.search(r'id="older" href="\?after=([^"&]+)"', first)
            if cursor is None:
                sys.exit("the first page has no link to the next one")
            pages = [
                ("first page", "/inbox", 50),
                ("second page", f"/inbox?after={cursor[1]}", 50),
                ("filtered: sender organisation + state",
                 f"/inbox?org={POLICE.replace(' ', '+')}&state=sent", 50),
                ("filtered: overdue", "/inbox?overdue=yes", 50),
                ("filtered: one case (search)", f"/inbox?q={asked['urn']}", None),
                ("filtered: one transfer id", f"/inbox?q={asked['transfer']}", 1),
            ]
            results = [(name, path, timed(client, path, args.runs, rows))
                       for name, path, rows in pages]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)  # on PostgreSQL, custody serve takes some seconds to stop
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(f"{args.transfers} transfers to one prosecutor ({backend}), filled in {filled:.1f} s;"
          f" {args.runs} timed requests a page over loopback HTTP (custody serve)")
    print(f"{'page':40} {'median ms':>10} {'p90 ms':>8} {'max ms':>8}")
    for name, _, times in results:
        p90 = statistics.quantiles(times, n=10, method="inclusive")[-1] if times[1:] else times[0]
        print(f"{name:40} {statistics.median(times):10.1f} {p90:8.1f} {max(times):8.1f}")
    worst = max(statistics.median(t) for _, _, t in results)
    print(f"slowest median: {worst:.1f} ms (target: under 200 ms)")


if __name__ == "__main__":
    main()
