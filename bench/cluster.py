"""One large file through the local cluster (scripts/cluster.sh) against one embedded node.

In the same run, on the same file (default 1 GiB):

1. **single node, files**: ``custody serve`` with SQLite and blob files, clients straight to
   it — the embedded default, as ``bench/roundtrip.py`` runs it;
2. **cluster, N nodes** for each N of ``--nodes`` (default 1 and 2): PostgreSQL (a fresh
   database each), OpenStack Swift's S3 (one Swift, a prefix each) and N ``custody serve``
   nodes behind nginx, clients through nginx.

Each runs ``custody send`` of the file and ``custody receive`` of the transfer as separate
processes (the real CLI, keys at their real work factor) and times them; the received file
must equal the original. Prints MB/s (10^6 bytes) and each cluster's ratio to the single
node, writes ``bench/out/cluster.json``, exits 1 if a step failed or a file changed.

    .venv/bin/python bench/cluster.py [--size-gib 1] [--nodes 1,2] [--tmp-dir DIR] [--keep]

Needs PostgreSQL on 127.0.0.1:5432 (trust auth), Swift and nginx-light (installed by
scripts/swift.sh and scripts/cluster.sh when run as root). One client sends one file, so a
second node adds no throughput to it; the cluster's figures say what nginx, PostgreSQL and
the object store cost a single transfer.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import roundtrip as rt

REPO = Path(__file__).resolve().parents[1]
CLUSTER_SH = REPO / "scripts" / "cluster.sh"
SWIFT_SH = REPO / "scripts" / "swift.sh"
OUT_JSON = REPO / "bench" / "out" / "cluster.json"
ORIGIN = "bench.custody/ledger"


@dataclass
class Run:
    name: str
    send_s: float = 0.0
    receive_s: float = 0.0
    send_mb_s: float = 0.0
    receive_mb_s: float = 0.0
    intact: bool = False


def _timed(argv: list[str], env: dict[str, str], log: Path) -> tuple[float, str]:
    started = time.monotonic()
    out = rt._run(argv, env=env, log=log)
    return time.monotonic() - started, out


def _round_trip(run: Run, url: str, source: Path, size: int, work: Path,
                officer: rt.Person, prosecutor: rt.Person, log_key: str, log: Path) -> None:
    cli = rt._custody_cli()
    for person in (officer, prosecutor):
        rt._sign_in(url, person, log_key, log)
    rt._run([*cli, "case", "create", rt.URN], env=officer.env(), log=log)
    run.send_s, said = _timed([*cli, "send", str(source), "--case", rt.URN, "--to", rt.CPS],
                              officer.env(), log)
    transfer = re.search(r"Sent transfer (\S+)", said)
    if transfer is None:
        raise rt.BenchError(f"no transfer id in custody send's output; see {log}")
    received = work / "received"
    run.receive_s, _ = _timed([*cli, "receive", transfer[1], "--out", str(received)],
                              prosecutor.env(), log)
    run.send_mb_s, run.receive_mb_s = size / run.send_s / rt.MB, size / run.receive_s / rt.MB
    run.intact = rt._sha256(received / source.name) == rt._sha256(source)
    shutil.rmtree(received)


def _single(source: Path, size: int, work: Path, log: Path) -> Run:
    run = Run("single node, SQLite + files")
    officer = rt.Person(work, "officer", "officer@police.bench.example")
    prosecutor = rt.Person(work, "prosecutor", "prosecutor@cps.bench.example")
    data, log_key = rt._setup(work, officer, prosecutor, log)
    with rt._server(data, work / "server.log") as (url, _):
        _round_trip(run, url, source, size, work, officer, prosecutor, log_key, log)
    return run


def _cluster(nodes: int, swift_env: dict[str, str], source: Path, size: int, work: Path,
             log: Path) -> Run:
    run = Run(f"cluster, {nodes} node(s): nginx, PostgreSQL, Swift")
    folder = work / "cluster"
    first = rt._free_port()
    env = rt._clean_env(
        **swift_env, CUSTODY_BLOB_URL=f"s3://custody/bench-{nodes}-{os.getpid()}",
        CLUSTER_NODES=str(nodes), CLUSTER_PORT=str(first), CLUSTER_NODE_PORT=str(first + 1),
        CLUSTER_ORIGIN=ORIGIN)
    try:
        rt._run(["bash", str(CLUSTER_SH), "up", str(folder)], env=env, log=log)
        exported = dict(line.removeprefix("export ").split("=", 1) for line in
                        (folder / "cluster.env").read_text().splitlines())
        admin_env = {**env, **{k: v.strip('"') for k, v in exported.items()
                               if k.startswith("CUSTODY_") and k != "CUSTODY_SERVER"}}
        said = (folder / "admin-init.txt").read_text()
        log_key = next(line.strip() for line in said.splitlines()
                       if line.strip().startswith(f"{ORIGIN}+"))
        officer = rt.Person(work, "officer", "officer@police.bench.example")
        prosecutor = rt.Person(work, "prosecutor", "prosecutor@cps.bench.example")
        cli, data = rt._custody_cli(), admin_env["CUSTODY_DATA_DIR"]
        (work / "recovery").mkdir(exist_ok=True)
        for org, kind in ((rt.POLICE, "police"), (rt.CPS, "prosecution")):
            rt._run([*cli, "admin", "org", "create", org, "--kind", kind,
                     "--data-dir", data,
                     "--recovery-key-out", str(work / "recovery" / f"{kind}.txt")],
                    env=admin_env, log=log)
        for person, org, role in ((officer, rt.POLICE, "officer"),
                                  (prosecutor, rt.CPS, "prosecutor")):
            rt._run([*cli, "admin", "user", "create", person.email, "--org", org,
                     "--role", role, "--data-dir", data],
                    env={**admin_env, "CUSTODY_NEW_PASSWORD": person.password}, log=log)
        _round_trip(run, exported["CUSTODY_SERVER"], source, size, work, officer, prosecutor,
                    log_key, log)
    finally:
        subprocess.run(["bash", str(CLUSTER_SH), "down", str(folder)], env=env,
                       capture_output=True, timeout=300, check=False)
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-gib", type=float, default=1.0)
    parser.add_argument("--nodes", default="1,2", help="cluster sizes to run, e.g. 1,2,3")
    parser.add_argument("--tmp-dir", type=Path)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--json", type=Path, default=OUT_JSON)
    args = parser.parse_args()
    size = int(args.size_gib * rt.GIB)
    sizes = [int(n) for n in args.nodes.split(",")]
    # The file, a received copy, and the stored ciphertext of each run (files, Swift).
    parent = rt._pick_parent(args.tmp_dir, size * (3 + len(sizes)) + rt.GIB)
    work = Path(tempfile.mkdtemp(prefix="custody-cluster-bench-", dir=parent))
    log = work / "bench.log"
    source = work / "evidence.bin"
    runs: list[Run] = []
    swift_dir = work / "swift"
    ports = rt._free_port()
    swift_ports = {"SWIFT_PROXY_PORT": str(ports), "SWIFT_BASE_PORT": str(ports + 1),
                   "SWIFT_MEMCACHED_PORT": str(ports + 4)}
    failed = False
    try:
        rt._make_file(source, size)
        print(f"{size / rt.GIB:g} GiB file; work in {work}", flush=True)
        runs.append(_single(source, size, work / "single", log))
        print(f"  {runs[-1].name}: done", flush=True)
        up = rt._run(["bash", str(SWIFT_SH), "up", str(swift_dir)],
                     env={**rt._clean_env(), **swift_ports}, log=log)
        swift_env = dict(line.removeprefix("export ").split("=", 1)
                         for line in up.splitlines() if line.startswith("export "))
        swift_env.pop("CUSTODY_BLOB_URL", None)
        for nodes in sizes:
            runs.append(_cluster(nodes, swift_env, source, size, work / f"cluster-{nodes}", log))
            print(f"  {runs[-1].name}: done", flush=True)
    except rt.BenchError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        failed = True
    finally:
        subprocess.run(["bash", str(SWIFT_SH), "down", str(swift_dir)],
                       env={**rt._clean_env(), **swift_ports},
                       capture_output=True, timeout=120, check=False)
    base = runs[0] if runs else None
    print(f"\n{'run':<44} {'send MB/s':>10} {'receive MB/s':>13} {'send ratio':>10} "
          f"{'receive ratio':>13} {'intact':>7}")
    for run in runs:
        ratio_s = run.send_mb_s / base.send_mb_s if base else 0.0
        ratio_r = run.receive_mb_s / base.receive_mb_s if base else 0.0
        print(f"{run.name:<44} {run.send_mb_s:>10.1f} {run.receive_mb_s:>13.1f} "
              f"{ratio_s:>10.2f} {ratio_r:>13.2f} {run.intact!s:>7}")
    record = {"size_bytes": size, "machine": platform.platform(), "cpus": os.cpu_count(),
              "runs": [asdict(r) for r in runs]}
    failed = failed or not runs or not all(r.intact for r in runs)
    return rt._finish(args, record, work, failed)


if __name__ == "__main__":
    sys.exit(main())
