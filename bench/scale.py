"""A national service under load: PostgreSQL seeded as a large service's, N nodes behind nginx,
many clients at once (issue 13's scale figures).

1. A fresh PostgreSQL database, made as ``custody admin init`` makes one, seeded with
   ``--transfers`` (100,000) transfers of ``--items-per-transfer`` (3) items to one
   prosecutor (bench/inbox.py's rows: two police forces, 2,000 cases, every state), a key
   wrap for the prosecutor on each item, and ``--entries`` (2,000,000) ledger entries on those
   items' trails, appended through the ledger store in batches (real leaves, a real tree),
   and the alerts of the transfers already overdue as raised long ago (a running service's
   state: see ``_alerts_raised``).
2. ``scripts/cluster.sh up`` on that database and data folder: ``--nodes`` (3) ``custody
   serve`` behind nginx (blobs in a folder: no content is read here).
3. Reads: ``wrk`` (Debian's ``wrk``: a load generator that does not measure itself, as 64
   Python threads under one GIL did) through nginx for ``--seconds`` (30) on each call alone,
   with one keep-alive connection (what a call costs) and then ``--clients`` (64): the
   prosecutor's inbox (first page), the officer's outbox (first page), one transfer, one
   item's history (ids picked at random);
   p50/p99/max ms, requests per second, errors (failed or not 2xx/3xx).
4. Ledger writes through the API: the same for POSTing receipts for items (each one ledger
   entry, under the sequencer's lock); entries per second, p50/p99.

Prints the table and writes ``bench/out/scale.json``; exits 1 if any request failed. Needs
PostgreSQL on 127.0.0.1:5432 (trust), nginx-light (scripts/cluster.sh install) and wrk
(``apt-get install wrk``). The load generator runs on the same machine as everything it
measures: on a 2-core machine its own CPU is part of the figure.

    .venv/bin/python bench/scale.py [--transfers 100000] [--entries 2000000] [--nodes 3]
    .venv/bin/python bench/scale.py --transfers 2000 --entries 20000 --seconds 5  # a look
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import inbox  # bench/inbox.py: the transfers, items and people (and tests/ on the path)
import psycopg
from sqlalchemy import insert

from custody.domain.policy import Scope
from custody.ledger.entry import Entry
from custody.services import tokens
from custody.store.ledger_store import LedgerStore
from custody.store.models import KeyWrap, User
from custody.store.models_delivery import Alert
from support.cli import base_env, free_port
from support.world import World, environment, world_settings

REPO = Path(__file__).resolve().parents[1]
CLUSTER_SH = REPO / "scripts" / "cluster.sh"
OUT_JSON = REPO / "bench" / "out" / "scale.json"
ADMIN_URL = os.environ.get("CUSTODY_TEST_POSTGRES_URL",
                           "postgresql://postgres@127.0.0.1:5432/postgres")
TRAIL = ("item:uploaded", "item:sealed", "item:downloaded", "item:received", "item:viewed")
SAMPLE = 20_000  # ids each call picks from at random


@dataclass(frozen=True)
class Op:
    """One call: its method, the paths it picks from at random, its JSON body."""

    method: str
    paths: list[str]
    body: dict[str, Any] | None = None


def _seed_ledger(world: World, made: dict[str, Any], total: int, batch: int) -> float:
    """``total`` entries over the items' trails, in order; appends per second."""
    items = made["items"]
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    started = time.perf_counter()
    for start in range(0, total, batch):
        entries = []
        for n in range(start, min(start + batch, total)):
            item = items[n % len(items)]
            entries.append(Entry(
                type=TRAIL[(n // len(items)) % len(TRAIL)], time=t0 + timedelta(seconds=n),
                actor=made["prosecutor"], case=item["case_id"], transfer=item["transfer_id"],
                item=item["id"], data={"sha256": f"{n:064x}"}))
        with world.ctx.unit_of_work() as session:
            LedgerStore(session).append_many(entries)
        if start // batch % 20 == 0:
            print(f"  ledger: {start + len(entries):,} of {total:,}", flush=True)
            # What autovacuum does as a table grows: without fresh statistics the planner
            # takes the new rows for an empty table, and the append's look-up of each item's
            # last entry went from milliseconds to more than a second in one run.
            with world.ctx.unit_of_work() as session:
                session.connection().exec_driver_sql("ANALYZE ledger_entries")
    rate = total / (time.perf_counter() - started)
    # A running service folds its item heads into the map at every checkpoint, a little at a
    # time; seeded entries are folded once here, or the first checkpoint after the nodes
    # start would fold them all while holding the log's head (every append waits).
    folding = time.perf_counter()
    with world.ctx.unit_of_work() as session:
        LedgerStore(session).fold_heads()
    print(f"  item heads of {len(items):,} items folded in {time.perf_counter() - folding:.0f} s",
          flush=True)
    return rate


def _alerts_raised(world: World, made: dict[str, Any]) -> int:
    """The overdue and escalation alerts of the seeded transfers past their deadlines, as
    raised long ago (a notice each, delivered): the state of a service whose watcher has been
    running. Without them the first pass of the watcher would raise some 70,000 alerts, a
    backlog it works through a batch at a time while every ledger write waits its turn."""
    now = datetime.now(UTC)
    rows = [{"id": str(uuid.uuid4()), "subject_id": t["id"], "kind": kind,
             "recipient": f"notice:{made['prosecutor']}", "channel": "notice", "payload": "{}",
             "created_at": now, "next_attempt_at": now, "delivered_at": now, "attempts": 0}
            for t in made["transfers"] if t["state"] in ("sent", "delivered")
            for kind, due in (("overdue", t["ack_deadline"]),
                              ("escalated", t["ack_deadline"] + timedelta(hours=24)))
            if due <= now]
    with world.ctx.unit_of_work() as session:
        for start in range(0, len(rows), 5000):
            session.execute(insert(Alert), rows[start:start + 5000])
    return len(rows)


def _wraps_and_tokens(world: World, made: dict[str, Any]) -> dict[str, str]:
    """A wrap for the prosecutor on every item (what lets them read it and report a receipt),
    and a bearer token each for the prosecutor and the officer."""
    now = datetime.now(UTC)
    rows = [{"id": str(uuid.uuid4()), "item_id": item["id"],
             "reader_user_id": made["prosecutor"], "reader_org_id": None,
             "recipient": "age1bench", "wrap": b"wrap", "created_at": now}
            for item in made["items"]]
    with world.ctx.unit_of_work() as session:
        for start in range(0, len(rows), 5000):
            session.execute(insert(KeyWrap), rows[start:start + 5000])
    issued = {}
    with world.ctx.unit_of_work() as session:
        for who in ("prosecutor", "officer"):
            user = session.get_one(User, made[who])
            issued[who] = tokens.issue(world.ctx, session, user,
                                       frozenset({Scope.READ, Scope.SEND}),
                                       timedelta(hours=8)).token
    return issued


_WRK_SCRIPT = """
local paths = {%s}
local method, body = "%s", %s
local headers = {["Authorization"] = "Bearer %s", ["Content-Type"] = "application/json"}
local failures = 0
request = function()
  return wrk.format(method, paths[math.random(#paths)], headers, body)
end
response = function(status, headers, body)
  if status >= 300 and failures < 3 then  -- the first few answers that failed, each thread
    failures = failures + 1
    local out = assert(io.open("%s", "a"))
    out:write(status .. " " .. string.sub(body, 1, 200):gsub("\\n", " ") .. "\\n")
    out:close()
  end
end
done = function(summary, latency, requests)
  local e = summary.errors
  local out = assert(io.open("%s", "w"))
  out:write(string.format(
    '{"requests": %%d, "micros": %%d, "p50": %%d, "p99": %%d, "max": %%d, "errors": %%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect + e.read + e.write + e.status + e.timeout))
  out:close()
end
"""


def _wrk(base: str, name: str, op: Op, token: str, clients: int, seconds: float,
         work: Path) -> dict[str, Any]:
    """``clients`` keep-alive connections from ``wrk`` (two threads) making ``op``'s request
    for ``seconds``: requests, per second, p50/p99/max ms, errors (failed, or not 2xx/3xx).

    wrk rather than Python threads: 64 httpx clients under one GIL on a 2-core machine
    measured the load generator as much as the service."""
    script, figures = work / f"wrk-{name}.lua", work / f"wrk-{name}.json"
    failed = work / f"wrk-{name}-failed.txt"
    body = "nil" if op.body is None else json.dumps(json.dumps(op.body))  # a Lua string
    paths = ", ".join(json.dumps(p) for p in op.paths)
    script.write_text(_WRK_SCRIPT % (paths, op.method, body, token, failed, figures))
    run = subprocess.run(["wrk", f"-t{min(2, clients)}", f"-c{clients}",
                          f"-d{max(1, round(seconds))}s", "--timeout", "60s", "-s", str(script),
                          base],
                         capture_output=True, text=True, timeout=seconds + 120, check=True)
    if not figures.exists():  # wrk reports a script's errors but exits 0
        sys.exit(f"wrk did not finish {name}:\n{run.stdout[-2000:]}{run.stderr[-2000:]}")
    got = json.loads(figures.read_text())
    wall = got["micros"] / 1e6
    return {"requests": got["requests"], "per_s": got["requests"] / wall,
            "p50_ms": got["p50"] / 1000, "p99_ms": got["p99"] / 1000,
            "max_ms": got["max"] / 1000, "errors": got["errors"],
            "failed": failed.read_text().splitlines() if failed.exists() else []}


def _cluster(args: argparse.Namespace, work: Path, settings_env: dict[str, str],
             data: Path, db_url: str) -> tuple[dict[str, str], str]:
    first = free_port()
    env = base_env(**{**settings_env, "CUSTODY_DATABASE_URL": db_url,
                      "CUSTODY_DATA_DIR": str(data),
                      "CUSTODY_BLOB_URL": (work / "blobs").as_uri()},
                   CLUSTER_NODES=str(args.nodes), CLUSTER_PORT=str(first),
                   CLUSTER_NODE_PORT=str(first + 1))
    up = subprocess.run(["bash", str(CLUSTER_SH), "up", str(work / "cluster")], env=env,
                        capture_output=True, text=True, timeout=600, check=False)
    if up.returncode != 0:
        sys.exit(f"scripts/cluster.sh up failed:\n{up.stderr[-3000:]}")
    return env, f"http://127.0.0.1:{first}"


def _print(title: str, figures: dict[str, dict[str, Any]]) -> None:
    print(f"\n{title}")
    print(f"{'call':<14} {'requests':>9} {'per s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"
          f" {'errors':>7}")
    for name, f in figures.items():
        print(f"{name:<14} {f['requests']:>9.0f} {f['per_s']:>8.1f} {f['p50_ms']:>8.1f} "
              f"{f['p99_ms']:>8.1f} {f['max_ms']:>8.1f} {f['errors']:>7.0f}")


def _phases(args: argparse.Namespace, base: str, made: dict[str, Any],
            issued: dict[str, str], work: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """Each read, then the ledger-writing receipt, each alone, with one connection and with
    ``--clients``: ``--seconds`` each."""
    # Revoked transfers answer 410 by design: the clients ask for standing ones.
    transfers = [t["id"] for t in made["transfers"] if t["state"] != "revoked"]
    standing = set(transfers)
    items = [i["id"] for i in made["items"] if i["transfer_id"] in standing]
    pick = random.Random(17)  # noqa: S311 - a load pattern, not a secret
    some_transfers = pick.sample(transfers, min(len(transfers), SAMPLE))
    some_items = pick.sample(items, min(len(items), SAMPLE))
    reads = {
        "inbox": ("prosecutor", Op("GET", ["/api/v1/transfers/inbox?limit=50"])),
        "outbox": ("officer", Op("GET", ["/api/v1/transfers/outbox?limit=50"])),
        "transfer": ("prosecutor", Op("GET", [f"/api/v1/transfers/{t}" for t in some_transfers])),
        "history": ("prosecutor", Op("GET", [f"/api/v1/history/{i}" for i in some_items])),
    }
    writes = {
        "receipt": ("prosecutor", Op("POST", [f"/api/v1/items/{i}/receipt" for i in some_items],
                                     {"manifest_sha256": "cd" * 32, "verified": True})),
    }

    def run(ops: dict[str, tuple[str, Op]]) -> dict[str, dict[str, Any]]:
        # One connection: what a call costs the service. --clients: what queueing adds.
        return {f"{name} x{n}": _wrk(base, f"{name}-{n}", op, issued[who], n, args.seconds, work)
                for name, (who, op) in ops.items() for n in (1, args.clients)}

    return {"reads": run(reads), "writes": run(writes)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transfers", type=int, default=100_000)
    parser.add_argument("--items-per-transfer", type=int, default=3)
    parser.add_argument("--entries", type=int, default=2_000_000)
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--json", type=Path, default=OUT_JSON)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench/scale.py needs wrk, the load generator: apt-get install wrk")

    work = Path(tempfile.mkdtemp(prefix="custody-scale-bench-"))
    name = f"custody_scale_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    db_url = f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    env: dict[str, str] = {}
    try:
        settings = world_settings(work / "data", db_url)
        world = World.create(settings)
        world.organisations()
        started = time.perf_counter()
        made = inbox.fill(world, args.transfers, seed=17,
                          items_per_transfer=args.items_per_transfer)
        print(f"{args.transfers:,} transfers, {len(made['items']):,} items in "
              f"{time.perf_counter() - started:.0f} s", flush=True)
        seeded_rate = _seed_ledger(world, made, args.entries, batch=5000)
        print(f"  {_alerts_raised(world, made):,} alerts of overdue transfers, raised long ago",
              flush=True)
        issued = _wraps_and_tokens(world, made)
        with world.ctx.unit_of_work() as session:
            session.connection().exec_driver_sql("ANALYZE")
        world.close()

        env, base = _cluster(args, work, environment(settings), work / "data", db_url)
        load = [os.getloadavg()[0]]
        phases = _phases(args, base, made, issued, work)
        load.append(os.getloadavg()[0])
    finally:
        if env:
            subprocess.run(["bash", str(CLUSTER_SH), "down", str(work / "cluster")], env=env,
                           capture_output=True, timeout=300, check=False)
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    print(f"\n{args.transfers:,} transfers, {len(made['items']):,} items, {args.entries:,} seeded "
          f"ledger entries (appended at {seeded_rate:,.0f}/s); {args.nodes} nodes behind nginx;"
          f" wrk for {args.seconds:g} s a call; load average {load[0]:.1f} before the calls,"
          f" {load[1]:.1f} after")
    _print("reads (each call alone)", phases["reads"])
    _print("ledger writes through the API (one entry each)", phases["writes"])
    errors = sum(f["errors"] for phase in phases.values() for f in phase.values())
    print(f"errors: {errors:.0f}")
    for name, f in (item for phase in phases.values() for item in phase.items()):
        for answer in f["failed"]:
            print(f"  {name}: {answer}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "transfers": args.transfers, "items": len(made["items"]), "entries": args.entries,
        "nodes": args.nodes, "clients": args.clients, "seconds": args.seconds,
        "seeded_appends_per_s": seeded_rate, **phases, "errors": errors, "load_average": load,
        "machine": platform.platform(), "cpus": os.cpu_count(),
        "at": datetime.now(UTC).isoformat()}, indent=2))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
