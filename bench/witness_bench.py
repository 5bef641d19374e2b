"""Witnesses and monitors: how fast a monitor catches up on a log, and how long a checkpoint
takes to gather two cosignatures.

    .venv/bin/python bench/witness_bench.py                    # 1,000,000 entries, 50 rounds
    .venv/bin/python bench/witness_bench.py --entries 100000   # a quick look

1. Monitor catch-up. A log of N entries like custody's (items with ``prev`` chains, a
   ``ledger:heads`` entry every 10,000) is built in memory and signed with a log key; the
   monitor (custody.monitor.core.Monitor, the code behind ``custody monitor``) replays it from
   nothing through its entry bundles, as it would over HTTP but without the network. Baseline,
   in the same run: computing the RFC 6962 tree of the same entries and nothing else (the
   least any verifier must do). Reported: entries per second, the ratio to the baseline, and
   the monitor's peak memory (tracemalloc).

2. Cosigning. Two real ``custody witness serve`` processes on loopback follow the log; for each
   of R growing checkpoints the log's part of witnessing (custody.services.witnessing's
   request: consistency proof, POST to both witnesses in parallel, verify both answers) is
   timed from the signed checkpoint to both cosignatures in hand. Reported: median and 95th
   percentile. (The server's database work is not in this figure: it is the same without
   witnesses.)
"""

from __future__ import annotations

import argparse
import base64
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx

from custody.crypto.signing import SigningKey
from custody.ledger import heads, merkle, note, tiles
from custody.ledger.checkpoint import Checkpoint, sign_checkpoint
from custody.ledger.cosignature import CosignatureVerifier, add_signatures, open_cosigned
from custody.ledger.entry import Entry, PrevRef
from custody.monitor.core import Monitor

ORIGIN = "bench.custody.example/log"
TYPES = ["item:created", "item:uploaded", "item:sealed", "item:downloaded", "item:received"]


def build_log(size: int) -> list[bytes]:
    """``size`` entries: items of five entries each, chained, and a heads entry every 10,000."""
    now = datetime(2026, 11, 30, tzinfo=UTC)
    bodies: list[bytes] = []
    last: dict[str, PrevRef] = {}
    unfolded: dict[bytes, bytes] = {}
    nodes = heads.MemoryNodes()
    item = ""
    while len(bodies) < size:
        index = len(bodies)
        if index and index % 10_000 == 9_999:
            root = heads.update(nodes, unfolded)
            unfolded = {}
            entry = Entry(type=heads.HEADS_TYPE, time=now, actor="system",
                          data=heads.entry_data(root, index))
        else:
            if index % 5 == 0 or not item:
                item = str(uuid.uuid4())
            entry = Entry(type=TYPES[index % 5], time=now, actor=str(uuid.UUID(int=index % 97)),
                          item=item, prev=last.get(item), data={"n": index})
        body = entry.to_bytes()
        bodies.append(body)
        if entry.item is not None:
            leaf = merkle.leaf_hash(body)
            last[entry.item] = PrevRef(index, leaf.hex())
            key = heads.item_key(entry.item)
            unfolded[key] = heads.head_hash(key, index, leaf)
    return bodies


def baseline_tree(bodies: list[bytes]) -> tuple[float, bytes]:
    started = time.perf_counter()
    tree = merkle.MemoryTree()
    for body in bodies:
        tree.append(body)
    return time.perf_counter() - started, tree.root()


def monitor_catch_up(bodies: list[bytes], signer: note.Signer, root: bytes,
                     folder: Path) -> tuple[float, int]:
    signed = sign_checkpoint(Checkpoint(ORIGIN, len(bodies), root), signer)

    def fetch(path: str) -> bytes:
        if path == "checkpoint":
            return signed
        ref = tiles.parse_tile_path(path)
        start = ref.n * tiles.TILE_WIDTH
        return tiles.entry_bundle(bodies[start:start + ref.width])

    monitor = Monitor(signer.verifier, folder / "monitor.json", fetch)
    tracemalloc.start()
    started = time.perf_counter()
    done = monitor.round()
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    if done.checkpoint.size != len(bodies):
        raise SystemExit(f"the monitor verified {done.checkpoint.size} entries, not {len(bodies)}")
    return elapsed, peak


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cosigning(signer: note.Signer, rounds: int, folder: Path) -> list[float]:
    custody = [sys.executable, "-m", "custody"]
    witnesses: list[tuple[str, CosignatureVerifier]] = []
    procs = []
    try:
        for n in (1, 2):
            home = folder / f"w{n}"
            made = subprocess.run([*custody, "witness", "init", str(home), "--name",
                                   f"witness.bench/w{n}"], capture_output=True, text=True,
                                  check=True)
            vkey = made.stdout.strip().splitlines()[-1]
            port = _free_port()
            procs.append(subprocess.Popen(
                [*custody, "witness", "serve", str(home), "--log", signer.verifier.vkey,
                 "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            witnesses.append((f"http://127.0.0.1:{port}", CosignatureVerifier.from_vkey(vkey)))
        for url, _ in witnesses:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit(f"the witness at {url} did not start")
                time.sleep(0.1)
        tree = merkle.MemoryTree()
        held = 0
        times = []
        with httpx.Client(timeout=10) as client, ThreadPoolExecutor(2) as pool:
            for r in range(rounds):
                for i in range(20):  # the log grows between checkpoints
                    tree.append(f"entry {r} {i}".encode())
                signed = sign_checkpoint(Checkpoint(ORIGIN, tree.size, tree.root()), signer)
                started = time.perf_counter()
                proof = merkle.consistency_proof(tree, held, tree.size) if held else []
                body = ("\n".join([f"old {held}", *(base64.b64encode(h).decode()
                                                    for h in proof)]) + "\n\n").encode() + signed

                def ask(url: str, body: bytes = body) -> str:
                    answer = client.post(f"{url}/add-checkpoint", content=body)
                    answer.raise_for_status()
                    return answer.text

                lines = "".join(pool.map(ask, [url for url, _ in witnesses]))
                cosigned = open_cosigned(add_signatures(signed, lines), signer.verifier,
                                         [v for _, v in witnesses], quorum=2)
                times.append(time.perf_counter() - started)
                if len(cosigned.witnesses) != 2:
                    raise SystemExit(f"round {r}: cosigned by {cosigned.witnesses}")
                held = tree.size
        return times
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    signer = note.Signer(ORIGIN, SigningKey(os.urandom(32)))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"building a log of {args.entries:,} entries ...", flush=True)
        bodies = build_log(args.entries)
        base, root = baseline_tree(bodies)
        took, peak = monitor_catch_up(bodies, signer, root, folder)
        mb = sum(len(b) for b in bodies) / 1e6
        print(f"\nmonitor catch-up on {args.entries:,} entries ({mb:.0f} MB of entries)")
        print(f"  monitor:  {took:8.1f} s   {args.entries / took:10,.0f} entries/s   "
              f"peak memory {peak / 2**20:.0f} MiB")
        print(f"  baseline: {base:8.1f} s   {args.entries / base:10,.0f} entries/s   "
              "(the RFC 6962 tree alone)")
        print(f"  ratio monitor/baseline: {took / base:.2f}")
        times = cosigning(signer, args.rounds, folder)
        p95 = sorted(times)[max(0, int(len(times) * 0.95) - 1)]
        print(f"\ncosigning by two witnesses over loopback HTTP, {args.rounds} checkpoints")
        print(f"  median {statistics.median(times) * 1000:.1f} ms   p95 {p95 * 1000:.1f} ms")


if __name__ == "__main__":
    main()
