"""Ledger figures on SQLite: appends/s (batched and one per transaction), proof time, bundle verify.

Run: PYTHONPATH=src .venv/bin/python bench/ledger_bench.py [--size 1000000] [--db PATH]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from custody.bundle import build_bundle, verify_bundle
from custody.crypto.signing import SigningKey
from custody.ledger.entry import Entry
from custody.ledger.note import Signer
from custody.store.db import Base, make_engine, make_sessionmaker, transaction
from custody.store.ledger_store import LedgerStore, init_ledger

ORIGIN = "bench.custody.example/log"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _entry(i: int) -> Entry:
    return Entry(
        type="item:accessed",
        time=T0,
        actor="3f1c2a9e-0000-4000-8000-000000000001",
        case="c-1",
        item=f"item-{i % 5000}",
        data={"sha256": f"{i:064x}"},
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--single", type=int, default=2_000)
    parser.add_argument("--db", type=Path, default=None)
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    db = args.db or Path(tmp.name) / "bench.db"
    engine = make_engine(f"sqlite:///{db}")
    Base.metadata.create_all(engine)
    factory = make_sessionmaker(engine)
    with transaction(factory) as s:
        init_ledger(s)

    _appends(factory, args.size, args.batch, args.single)
    _proofs(factory)
    _bundle(factory)
    t = time.perf_counter()
    with factory() as s:
        result = LedgerStore(s).verify_all()
    print(f"verify_all of {result.size:,} entries: {time.perf_counter() - t:.1f} s -> {result}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {rss:.0f} MiB; database {db.stat().st_size / 2**20:.0f} MiB")
    tmp.cleanup()


def _appends(factory: sessionmaker[Session], size: int, batch_size: int, singles: int) -> None:
    t = time.perf_counter()
    for start in range(0, size, batch_size):
        batch = [_entry(i) for i in range(start, min(start + batch_size, size))]
        with transaction(factory) as s:
            LedgerStore(s).append_many(batch)
    batched = size / (time.perf_counter() - t)
    print(f"batched append_many ({batch_size}/txn): {batched:,.0f} appends/s to {size:,}")

    t = time.perf_counter()
    for i in range(singles):
        with transaction(factory) as s:
            LedgerStore(s).append(_entry(i))
    single = singles / (time.perf_counter() - t)
    print(f"one entry per transaction: {single:,.0f} appends/s ({singles} appends)")


def _proofs(factory: sessionmaker[Session]) -> None:
    with factory() as s:
        store = LedgerStore(s)
        size = store.size()
        times = []
        for k in range(2000):
            index = (k * 7919) % size
            t = time.perf_counter()
            store.inclusion_proof(index, size)
            times.append(time.perf_counter() - t)
        ctimes = []
        for k in range(500):
            old = 1 + (k * 104729) % (size - 1)
            t = time.perf_counter()
            store.consistency_proof(old, size)
            ctimes.append(time.perf_counter() - t)
        print(
            f"inclusion proof at {size:,}: median {statistics.median(times) * 1e3:.3f} ms, "
            f"p99 {sorted(times)[int(len(times) * 0.99)] * 1e3:.3f} ms"
        )
        print(f"consistency proof at {size:,}: median {statistics.median(ctimes) * 1e3:.3f} ms")


def _bundle(factory: sessionmaker[Session]) -> None:
    signer = Signer(ORIGIN, SigningKey.generate())
    with transaction(factory) as s:
        cp = LedgerStore(s).sign_checkpoint(signer, ORIGIN, datetime.now(UTC))
    if cp is None:
        raise SystemExit("no checkpoint signed")
    with factory() as s:
        store = LedgerStore(s)
        trail = store.item_trail("item-42")[:100]
        rows = [(i, body, store.inclusion_proof(i, cp.size)) for i, body in trail]
    bundle = build_bundle(ORIGIN, cp.note, rows, [{"item": "item-42"}])
    t = time.perf_counter()
    report = verify_bundle(bundle, signer.verifier.vkey)
    verify_ms = (time.perf_counter() - t) * 1e3
    entries = len(report.trail)
    print(f"verify bundle of {entries} entries: {verify_ms:.1f} ms ({len(bundle):,} bytes)")


if __name__ == "__main__":
    main()
