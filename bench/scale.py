"""A national service under load: PostgreSQL seeded as a large service's, N nodes behind nginx,
many clients at once (issue 13's scale figures).

1. A fresh PostgreSQL database, made as ``custody admin init`` makes one, seeded with
   ``--transfers`` (100,000) transfers of ``--items-per-transfer`` (3) items to one
   prosecutor (bench/inbox.py's rows: two police forces, 2,000 cases, every state), a key
   wrap for the prosecutor on each item, and ``--entries`` (2,000,000) ledger entries on those
   items' trails, appended through the ledger store in batches (real leaves, a real tree).
2. ``scripts/cluster.sh up`` on that database and data folder: ``--nodes`` (3) ``custody
   serve`` behind nginx (blobs in a folder: no content is read here).
3. Reads: ``--clients`` (64) concurrent clients for ``--seconds`` (30), each its own HTTP
   client with a bearer token, through nginx, a mix of the prosecutor's inbox (first page),
   the officer's outbox (first page), one transfer, and one item's history; p50/p99/max ms
   of each and requests per second, errors.
4. Ledger writes through the API: the same clients POSTing receipts for items (each one
   ledger entry, under the sequencer's lock) for ``--seconds``; entries per second, p50/p99.

Prints the table and writes ``bench/out/scale.json``; exits 1 if any request failed. Needs
PostgreSQL on 127.0.0.1:5432 (trust) and nginx-light (scripts/cluster.sh install). The load
generator runs on the same machine as everything it measures: on a 2-core machine its own
CPU is part of the figure.

    .venv/bin/python bench/scale.py [--transfers 100000] [--entries 2000000] [--nodes 3]
    .venv/bin/python bench/scale.py --transfers 2000 --entries 20000 --seconds 5  # a look
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import inbox  # bench/inbox.py: the transfers, items and people (and tests/ on the path)
import psycopg
from sqlalchemy import insert

from custody.domain.policy import Scope
from custody.ledger.entry import Entry
from custody.services import tokens
from custody.store.ledger_store import LedgerStore
from custody.store.models import KeyWrap, User
from support.cli import base_env, free_port
from support.world import World, environment, world_settings

REPO = Path(__file__).resolve().parents[1]
CLUSTER_SH = REPO / "scripts" / "cluster.sh"
OUT_JSON = REPO / "bench" / "out" / "scale.json"
ADMIN_URL = os.environ.get("CUSTODY_TEST_POSTGRES_URL",
                           "postgresql://postgres@127.0.0.1:5432/postgres")
TRAIL = ("item:uploaded", "item:sealed", "item:downloaded", "item:received", "item:viewed")
Op = Callable[[httpx.Client, random.Random], httpx.Response]


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
    return total / (time.perf_counter() - started)


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


def _hammer(base: str, ops: dict[str, tuple[str, Op]], tokens_: dict[str, str], clients: int,
            seconds: float) -> tuple[dict[str, list[float]], list[str], float]:
    """``clients`` threads, each its own keep-alive client, calling ``ops`` at random until
    ``seconds`` have passed: each op's latencies in ms, the errors, the wall time."""
    times: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    names = list(ops)

    def client(n: int) -> None:
        rng = random.Random(n)  # noqa: S311 - a load pattern, not a secret
        http = {who: httpx.Client(base_url=base, timeout=60,
                                  headers={"Authorization": f"Bearer {token}"})
                for who, token in tokens_.items()}
        try:
            while time.monotonic() < deadline:
                name = rng.choice(names)
                who, op = ops[name]
                started = time.perf_counter()
                try:
                    answer = op(http[who], rng)
                    ok = answer.status_code < 300
                    why = f"{name}: {answer.status_code} {answer.text[:200]}"
                except httpx.HTTPError as exc:
                    ok, why = False, f"{name}: {type(exc).__name__}: {exc}"
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    if ok:
                        times[name].append(elapsed)
                    else:
                        errors.append(why)
        finally:
            for c in http.values():
                c.close()

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times, errors, time.monotonic() - started


def _figures(times: dict[str, list[float]], wall: float) -> dict[str, dict[str, float]]:
    out = {}
    for name, ms in sorted(times.items()):
        ordered = sorted(ms)
        out[name] = {"requests": len(ordered), "per_s": len(ordered) / wall,
                     "p50_ms": statistics.median(ordered),
                     "p99_ms": ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))],
                     "max_ms": ordered[-1]}
    return out


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


def _print(title: str, figures: dict[str, dict[str, float]]) -> None:
    print(f"\n{title}")
    print(f"{'call':<12} {'requests':>9} {'per s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for name, f in figures.items():
        print(f"{name:<12} {f['requests']:>9.0f} {f['per_s']:>8.1f} {f['p50_ms']:>8.1f} "
              f"{f['p99_ms']:>8.1f} {f['max_ms']:>8.1f}")


def _phases(args: argparse.Namespace, base: str, made: dict[str, Any],
            issued: dict[str, str]) -> dict[str, Any]:
    """The read phase, then the write phase: each one's latencies, errors and wall time."""
    # Revoked transfers answer 410 by design: the clients ask for standing ones.
    transfers = [t["id"] for t in made["transfers"] if t["state"] != "revoked"]
    standing = set(transfers)
    items = [i["id"] for i in made["items"] if i["transfer_id"] in standing]
    reads: dict[str, tuple[str, Op]] = {
        "inbox": ("prosecutor", lambda c, r: c.get("/api/v1/transfers/inbox",
                                                   params={"limit": 50})),
        "outbox": ("officer", lambda c, r: c.get("/api/v1/transfers/outbox",
                                                 params={"limit": 50})),
        "transfer": ("prosecutor", lambda c, r: c.get(
            f"/api/v1/transfers/{r.choice(transfers)}")),
        "history": ("prosecutor", lambda c, r: c.get(f"/api/v1/history/{r.choice(items)}")),
    }
    writes: dict[str, tuple[str, Op]] = {
        "receipt": ("prosecutor", lambda c, r: c.post(
            f"/api/v1/items/{r.choice(items)}/receipt",
            json={"manifest_sha256": "cd" * 32, "verified": True})),
    }
    return {"reads": _hammer(base, reads, issued, args.clients, args.seconds),
            "writes": _hammer(base, writes, issued, args.clients, args.seconds)}


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
        issued = _wraps_and_tokens(world, made)
        with world.ctx.unit_of_work() as session:
            session.connection().exec_driver_sql("ANALYZE")
        world.close()

        env, base = _cluster(args, work, environment(settings), work / "data", db_url)
        phases = _phases(args, base, made, issued)
    finally:
        if env:
            subprocess.run(["bash", str(CLUSTER_SH), "down", str(work / "cluster")], env=env,
                           capture_output=True, timeout=300, check=False)
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    read_times, read_errors, read_wall = phases["reads"]
    write_times, write_errors, write_wall = phases["writes"]
    read_figures, write_figures = _figures(read_times, read_wall), _figures(write_times,
                                                                            write_wall)
    print(f"\n{args.transfers:,} transfers, {len(made['items']):,} items, {args.entries:,} seeded "
          f"ledger entries (appended at {seeded_rate:,.0f}/s); {args.nodes} nodes behind nginx;"
          f" {args.clients} clients for {args.seconds:g} s each phase")
    _print("reads", read_figures)
    print(f"all reads: {sum(len(t) for t in read_times.values()) / read_wall:.1f} per s")
    _print("ledger writes through the API (one entry each)", write_figures)
    errors = read_errors + write_errors
    print(f"errors: {len(errors)}")
    for error in errors[:10]:
        print(f"  {error}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "transfers": args.transfers, "items": len(made["items"]), "entries": args.entries,
        "nodes": args.nodes, "clients": args.clients, "seconds": args.seconds,
        "seeded_appends_per_s": seeded_rate, "reads": read_figures, "writes": write_figures,
        "errors": errors[:50], "machine": platform.platform(), "cpus": os.cpu_count(),
        "at": datetime.now(UTC).isoformat()}, indent=2))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
