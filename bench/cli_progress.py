"""What progress costs: ``custody send`` of one large file at a terminal, with the progress
line drawn and with ``--quiet``, through a real custody server.

Sets up a server, an officer and a prosecutor the way ``roundtrip.py`` does (same helpers),
makes a file of ``--size-mib`` MiB, then runs ``custody send FILE --again`` ``--runs`` times
each way, alternating (progress, quiet, quiet, progress, ...) so that drift on a shared
machine falls on both alike. Every run is in a pseudo-terminal (what tmux gives), so the
only difference is the progress line; the script drains the terminal as a terminal would
and counts the redraws it saw (a progress run with none, or a quiet run with any, fails).

Prints each run's wall time, MB/s and CPU time (user + system, of the ``custody send``
process alone: what the progress line could cost whatever else the machine is doing), the
medians, and the ratios of the medians (progress / quiet: 1.00 means free), and writes
``bench/out/cli_progress.json``.

    .venv/bin/python bench/cli_progress.py [--size-mib 1024] [--runs 5] [--tmp-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import pty
import re
import resource
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import roundtrip as rt  # the sibling bench's helpers, found through the line above

# A line drawn over: a carriage return not ending a line (the terminal turns "\n" into
# "\r\n"), or the cursor moved up to redraw a block of lines.
REDRAW = re.compile(rb"\r(?!\n)|\x1b\[\d*A")
OUT_JSON = rt.REPO / "bench" / "out" / "cli_progress.json"


def at_a_terminal(
    argv: list[str], env: dict[str, str], cwd: Path
) -> tuple[int, float, float, bytes]:
    """Run ``argv`` with stdout and stderr on a pseudo-terminal, reading all it draws as a
    terminal does; its exit code, wall seconds, CPU seconds (user + system) and what it
    drew."""
    primary, secondary = pty.openpty()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env={**env, "TERM": "xterm-256color", "COLUMNS": "120"},
                            cwd=cwd, stdin=subprocess.DEVNULL, stdout=secondary,
                            stderr=secondary)
    os.close(secondary)
    drawn = bytearray()
    try:
        while True:
            ready, _, _ = select.select([primary], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(primary, 65536)
                except OSError:  # the terminal closed: the process is done
                    break
                if not chunk:
                    break
                drawn += chunk
            elif proc.poll() is not None:
                break
        code = proc.wait()
    finally:
        os.close(primary)
    seconds = time.perf_counter() - started
    # Only children waited for count, so the server (still running) is not in it.
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return code, seconds, cpu, bytes(drawn)


def _timed_send(
    argv: list[str], env: dict[str, str], work: Path, log: Path
) -> tuple[float, float, bytes]:
    code, seconds, cpu, drawn = at_a_terminal(argv, env, work)
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(argv)}\n".encode() + drawn)
    if code != 0:
        raise rt.BenchError(f"{' '.join(argv[1:3])} exited {code}; see {log}")
    return seconds, cpu, drawn


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="the file's size [1024]")
    parser.add_argument("--runs", type=int, default=5, help="sends each way [5]")
    parser.add_argument("--tmp-dir", type=Path, default=None, help="where the files go")
    parser.add_argument("--json", type=Path, default=OUT_JSON, help="where the figures go")
    args = parser.parse_args()
    size = args.size_mib * rt.MIB
    parent = rt._pick_parent(args.tmp_dir, (2 * args.runs + 2) * size * 11 // 10 + rt.GIB)
    work = Path(tempfile.mkdtemp(prefix="custody-progress-", dir=parent))
    log = work / "bench.log"
    cli = rt._custody_cli()
    try:
        source = work / "interview.mp4"
        rt._make_file(source, size)
        officer = rt.Person(work, "officer", "officer@police.bench.example")
        prosecutor = rt.Person(work, "prosecutor", "prosecutor@cps.bench.example")
        data, log_key = rt._setup(work, officer, prosecutor, log)
        with rt._server(data, work / "server.log") as (url, _server):
            for person in (officer, prosecutor):
                rt._sign_in(url, person, log_key, log)
            rt._run([*cli, "case", "create", rt.URN], env=officer.env(), log=log)
            send = [*cli, "send", str(source), "--case", rt.URN, "--to", rt.CPS, "--again"]
            runs: dict[str, list[float]] = {"progress": [], "quiet": []}
            cpu: dict[str, list[float]] = {"progress": [], "quiet": []}
            redraws: dict[str, list[int]] = {"progress": [], "quiet": []}
            order = ["progress", "quiet", "quiet", "progress"] * ((args.runs + 1) // 2)
            for mode in order[: 2 * args.runs]:
                argv = send if mode == "progress" else [*send, "--quiet"]
                seconds, used, drawn = _timed_send(argv, officer.env(), work, log)
                runs[mode].append(seconds)
                cpu[mode].append(used)
                redraws[mode].append(len(REDRAW.findall(drawn)))
                print(f"  {mode:8} {seconds:7.2f} s  {size / rt.MB / seconds:7.1f} MB/s  "
                      f"CPU {used:6.2f} s  {redraws[mode][-1]:5} redraws", flush=True)
    except rt.BenchError as exc:
        print(f"FAILED: {exc}\n(kept {work})", file=sys.stderr)
        return 1
    medians = {mode: statistics.median(times) for mode, times in runs.items()}
    cpu_medians = {mode: statistics.median(times) for mode, times in cpu.items()}
    ratio = medians["progress"] / medians["quiet"]
    cpu_ratio = cpu_medians["progress"] / cpu_medians["quiet"]
    drew = all(n > 0 for n in redraws["progress"]) and not any(redraws["quiet"])
    print(f"\ncustody send of {args.size_mib} MiB at a terminal, {args.runs} runs each "
          f"(median):")
    for mode, median in medians.items():
        print(f"  {mode:8} {median:7.2f} s  {size / rt.MB / median:7.1f} MB/s  "
              f"CPU {cpu_medians[mode]:6.2f} s")
    print(f"  progress / quiet wall time: {ratio:.3f}  ({(ratio - 1) * 100:+.1f}%)")
    print(f"  progress / quiet CPU time:  {cpu_ratio:.3f}  ({(cpu_ratio - 1) * 100:+.1f}%)")
    print(f"  progress drawn in every progress run and in no quiet run: {drew}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "size_mib": args.size_mib, "runs": runs, "cpu_s": cpu, "redraws": redraws,
        "medians_s": medians, "cpu_medians_s": cpu_medians,
        "ratio_progress_over_quiet": ratio, "cpu_ratio_progress_over_quiet": cpu_ratio,
        "progress_drawn_only_when_asked": drew,
        "cpus": os.cpu_count(), "platform": platform.platform(),
        "load_average": os.getloadavg(),
    }, indent=2))
    shutil.rmtree(work, ignore_errors=True)
    return 0 if drew else 1


if __name__ == "__main__":
    sys.exit(main())
