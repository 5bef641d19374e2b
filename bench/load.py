"""Many people at once through one server: concurrent sends, then concurrent receivers.

Issue 15's load figure. In one process, threads run the client library's own ``send`` and
``receive`` (what ``custody send`` and ``custody receive`` run; each thread its own HTTP
client, as each person's machine would have):

1. a real ``custody serve`` on the embedded default (SQLite + files), set up as
   ``bench/roundtrip.py`` does: two organisations, an officer and a prosecutor, keys at the
   real work factor;
2. ``--senders`` (200) sends at once, each its own transfer of one ``--size-mib`` (20) file;
3. ``--receivers`` (64) threads receiving every transfer, each file's SHA-256 compared with
   the original's.

Prints the errors (there must be none), the items verified, the aggregate MB/s of each phase,
p50/p99/max seconds of one send and one receive, and the server's peak RSS; writes
``bench/out/load.json``; exits 1 on any error or mismatch.

    .venv/bin/python bench/load.py [--senders 200] [--receivers 64] [--size-mib 20]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import roundtrip as rt

from custody.client.config import Session
from custody.client.http import Api
from custody.client.receiving import receive
from custody.client.sending import send
from custody.crypto.keys import UserKeys

OUT_JSON = rt.REPO / "bench" / "out" / "load.json"


@dataclass
class Phase:
    name: str
    operations: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    bytes: int = 0

    def summary(self) -> dict[str, float]:
        ordered = sorted(self.seconds) or [0.0]
        return {
            "ok": len(self.seconds),
            "errors": len(self.errors),
            "mb_per_s": self.bytes / self.wall_s / rt.MB if self.wall_s else 0.0,
            "p50_s": statistics.median(ordered),
            "p99_s": ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))],
            "max_s": ordered[-1],
        }


def _as(person: rt.Person) -> tuple[Session, UserKeys]:
    """The person's saved session and unlocked keys (CUSTODY_HOME is process-wide: set here,
    before the phase's threads start)."""
    os.environ["CUSTODY_HOME"] = str(person.home)
    session = Session.load()
    return session, UserKeys.unseal(session.key_file.read_bytes(), person.passphrase)


def _run_phase(phase: Phase, jobs: list[Callable[[], int]], workers: int) -> None:
    lock = threading.Lock()

    def one(job: Callable[[], int]) -> None:
        started = time.monotonic()
        try:
            done = job()
        except Exception as exc:  # noqa: BLE001 - every failure is counted and shown
            cause = f" (from {type(exc.__cause__).__name__})" if exc.__cause__ else ""
            with lock:
                phase.errors.append(f"{type(exc).__name__}: {exc}{cause}")
            return
        with lock:
            phase.seconds.append(time.monotonic() - started)
            phase.bytes += done

    started = time.monotonic()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, jobs))
    phase.wall_s = time.monotonic() - started
    phase.operations = len(jobs)


def _sources(work: Path, original: Path, count: int) -> list[Path]:
    """``count`` paths of the one file (hard links): a send's resumable state is by path."""
    sources = []
    for n in range(count):
        folder = work / "files" / f"{n:03}"
        folder.mkdir(parents=True)
        os.link(original, folder / "evidence.bin")
        sources.append(folder / "evidence.bin")
    return sources


def _send_all(officer: rt.Person, sources: list[Path], size: int) -> tuple[Phase, list[str]]:
    session, keys = _as(officer)
    phase, sent = Phase("send"), []

    def send_one(source: Path) -> int:
        with Api(session.server, session.token) as api:
            done = send(api, session, keys, [source], rt.URN, [rt.CPS], None, say=lambda _: None)
        sent.append(done.id)
        return size

    _run_phase(phase, [lambda s=s: send_one(s) for s in sources], len(sources))
    return phase, sent


def _same(path: Path, digest: str, transfer: str) -> None:
    if rt._sha256(path) != digest:
        raise rt.BenchError(f"transfer {transfer}: the received file differs")


def _receive_all(prosecutor: rt.Person, sent: list[str], work: Path, digest: str, size: int,
                 workers: int) -> Phase:
    session, keys = _as(prosecutor)
    phase = Phase("receive")

    def receive_one(transfer: str) -> int:
        with Api(session.server, session.token) as api:
            (got,) = receive(api, session, keys, transfer, work / "received" / transfer,
                             say=lambda _: None)
        _same(got.path, digest, transfer)
        got.path.unlink()  # keep the disk for the rest
        return size

    _run_phase(phase, [lambda t=t: receive_one(t) for t in sent], workers)
    return phase


def _report(args: argparse.Namespace, phases: tuple[Phase, Phase],
            peak_rss: float) -> dict[str, Any]:
    errors = [e for phase in phases for e in phase.errors]
    print(f"\n{'phase':<8} {'ok':>5} {'errors':>6} {'MB/s':>8} {'p50 s':>7} {'p99 s':>7} "
          f"{'max s':>7}")
    for phase in phases:
        s = phase.summary()
        print(f"{phase.name:<8} {s['ok']:>5.0f} {s['errors']:>6.0f} {s['mb_per_s']:>8.1f} "
              f"{s['p50_s']:>7.2f} {s['p99_s']:>7.2f} {s['max_s']:>7.2f}")
    print(f"server peak RSS {peak_rss:.0f} MB")
    for error in errors[:20]:
        print(f"  error: {error}")
    return {
        "senders": args.senders, "receivers": args.receivers, "size_mib": args.size_mib,
        "machine": platform.platform(), "cpus": os.cpu_count(), "server_peak_rss_mb": peak_rss,
        **{phase.name: phase.summary() for phase in phases},
        "errors": errors[:20], "phases": [asdict(phase) for phase in phases]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--senders", type=int, default=200)
    parser.add_argument("--receivers", type=int, default=64)
    parser.add_argument("--size-mib", type=int, default=20)
    parser.add_argument("--tmp-dir", type=Path)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--json", type=Path, default=OUT_JSON)
    args = parser.parse_args()
    size = args.size_mib * rt.MIB
    # The file, its ciphertext on the server and a received copy of each transfer.
    parent = rt._pick_parent(args.tmp_dir, 2 * size * args.senders + size + rt.GIB)
    work = Path(tempfile.mkdtemp(prefix="custody-load-bench-", dir=parent))
    log = work / "bench.log"
    officer = rt.Person(work, "officer", "officer@police.bench.example")
    prosecutor = rt.Person(work, "prosecutor", "prosecutor@cps.bench.example")
    sends, receives, peak_rss = Phase("send"), Phase("receive"), 0.0
    try:
        data, log_key = rt._setup(work, officer, prosecutor, log)
        original = work / "evidence.bin"
        digest = rt._make_file(original, size)
        sources = _sources(work, original, args.senders)
        with rt._server(data, work / "server.log") as (url, proc):
            for person in (officer, prosecutor):
                rt._sign_in(url, person, log_key, log)
            rt._run([*rt._custody_cli(), "case", "create", rt.URN], env=officer.env(), log=log)
            print(f"{args.senders} sends of {args.size_mib} MiB at once, then "
                  f"{args.receivers} receivers; work in {work}", flush=True)
            sends, sent = _send_all(officer, sources, size)
            print(f"  sent {len(sent)} of {args.senders}", flush=True)
            receives = _receive_all(prosecutor, sent, work, digest, size, args.receivers)
            peak_rss = rt._vm_hwm_mb(proc.pid)
    except rt.BenchError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        sends.errors.append(str(exc))
    record = _report(args, (sends, receives), peak_rss)
    failed = bool(sends.errors or receives.errors) or len(receives.seconds) != args.senders
    return rt._finish(args, record, work, failed)


if __name__ == "__main__":
    sys.exit(main())
