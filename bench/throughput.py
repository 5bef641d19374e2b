"""Send and receive against the standard tools glued together, side by side in one run (issue 12).

The yardsticks, built only from standard tools, on the same file in the same run:

- send pipeline: ``openssl dgst -sha256 FILE &`` beside
  ``age -e -r RECIPIENT FILE | curl -T - http://127.0.0.1:PORT/dav/x.age`` into an nginx of
  its own (WebDAV PUT into a folder of the run);
- receive pipeline: ``curl http://127.0.0.1:PORT/dav/x.age | age -d -i KEY > out``, then
  ``openssl dgst -sha256 out``;
- the disk: ``cp FILE copy`` on the same disk.

Both receives read the stored ciphertext from the disk, not the page cache, as a receive some
time after the send would: custody's blob store drops what it wrote from the cache, and the
bench drops nginx's ``x.age`` the same way after each send pipeline.

Against them: ``custody send FILE`` and ``custody receive TRANSFER`` through ``custody serve``
on the embedded default (SQLite and files), set up the way ``roundtrip.py`` does (its helpers:
admin init, two organisations, an officer and a prosecutor with real key work factors). Both
custody commands run with ``--progress`` (a plain line a second), so progress is in the figure.

Each round runs pipeline then custody for send, the same for receive, then ``cp``; the order
alternates between rounds (A B, B A, ...) so drift on a shared machine falls on both alike.
Prints every round, each figure's median, the throughput ratios custody/pipeline and
custody/cp (1.00 = as fast; above is faster), each client's peak RSS (``/usr/bin/time -v``),
the server's peak RSS (VmHWM, reset before each custody command) and CPU seconds per GB of
client and server, and what unlocking the key costs on its own. Writes
``bench/out/throughput.json``. Absolute figures on a shared machine are noise: the ratios of
one run are the figures.

    .venv/bin/python bench/throughput.py [--size 1G] [--rounds 3] [--tmp-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import NoReturn

sys.path.insert(0, str(Path(__file__).resolve().parent))

import roundtrip as rt  # the sibling bench's helpers, found through the line above

OUT_JSON = rt.REPO / "bench" / "out" / "throughput.json"
GB = 1_000_000_000
TICKS = os.sysconf("SC_CLK_TCK")

NGINX_CONF = """\
{user}
daemon off;
master_process off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    sendfile on;
    server {{
        listen 127.0.0.1:{port};
        location /dav/ {{
            alias {dav}/;
            dav_methods PUT;
            create_full_put_path on;
            client_max_body_size 0;
            client_body_buffer_size 1m;
        }}
    }}
}}
"""

# Unlock the key the way every custody command does, alone: its peak RSS is the unlock's.
UNLOCK = (
    "from custody.client.config import Session\n"
    "from custody.cli.unlock import unlock_keys\n"
    "unlock_keys(Session.load())\n"
)


@dataclass
class Figure:
    """One step's rounds: wall seconds, the client's peak RSS and CPU seconds."""

    name: str
    seconds: list[float] = field(default_factory=list)
    peak_rss_mb: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)
    server_peak_rss_mb: list[float] = field(default_factory=list)
    server_cpu_s: list[float] = field(default_factory=list)

    def median(self) -> float:
        return statistics.median(self.seconds)


def _size(text: str) -> int:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMG]?)i?B?", text.strip(), re.IGNORECASE)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size such as 256M, 1G or 8G")
    unit = {"": 1, "K": 1024, "M": rt.MIB, "G": rt.GIB}[match[2].upper()]
    return int(float(match[1]) * unit)


def _server_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14 and 15)


@contextmanager
def _nginx(work: Path, log: Path) -> Iterator[str]:
    """An nginx of this run, WebDAV PUT on /dav/ into a folder of the run; its base URL."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        raise rt.BenchError(
            "nginx is not installed (as root: bash scripts/cluster.sh install, or "
            "apt-get install --no-install-recommends nginx-light)"
        )
    root, dav = work / "nginx", work / "dav"
    for folder in (root, dav, *(root / t for t in ("body", "proxy", "fastcgi", "uwsgi", "scgi"))):
        folder.mkdir(parents=True, exist_ok=True)
    port = rt._free_port()
    user = "user root;" if os.geteuid() == 0 else ""
    conf = root / "nginx.conf"
    conf.write_text(NGINX_CONF.format(user=user, root=root, dav=dav, port=port))
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [nginx, "-p", str(root), "-e", str(root / "error.log"), "-c", str(conf)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                subprocess.run(
                    ["curl", "-sS", "-o", "/dev/null", f"http://127.0.0.1:{port}/"],
                    check=True,
                    capture_output=True,
                )
                break
            except subprocess.CalledProcessError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise rt.BenchError(f"nginx did not start; see {root / 'error.log'}") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/dav"
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def _measure(
    figure: Figure,
    argv: list[str],
    log: Path,
    *,
    env: dict[str, str] | None = None,
    output: Path | None = None,
    server: int | None = None,
) -> None:
    """One round of ``figure``: run ``argv`` under /usr/bin/time -v (which counts every process
    it waits for, so a pipeline's CPU is all of its stages'), and the server's share."""
    if server is not None:
        rt._reset_hwm(server)
        cpu_before = _server_cpu(server)
    step = rt._run_measured(figure.name, argv, env=env, log=log, output=output)
    figure.seconds.append(step.seconds)
    figure.peak_rss_mb.append(step.peak_rss_mb)
    figure.cpu_s.append(step.cpu_user_s + step.cpu_sys_s)
    if server is not None:
        figure.server_peak_rss_mb.append(rt._vm_hwm_mb(server))
        figure.server_cpu_s.append(_server_cpu(server) - cpu_before)


def _fixed_cost(
    work: Path, cli: list[str], officer: rt.Person, prosecutor: rt.Person, log: Path
) -> dict[str, float]:
    """What a command costs whatever the file's size (start, key unlock, API calls): the
    seconds of a send and a receive of 1 MiB."""
    small = work / "small.bin"
    rt._make_file(small, rt.MIB)
    said = work / "small-send.txt"
    send, receive = Figure("fixed send"), Figure("fixed receive")
    argv = [*cli, "send", str(small), "--case", rt.URN, "--to", rt.CPS, "--again"]
    _measure(send, argv, log, env=officer.env(), output=said)
    found = re.search(r"Sent transfer (\S+)", said.read_text())
    if not found:
        _fail(f"no transfer id in the output of custody send; see {log}")
    argv = [*cli, "receive", found[1], "--out", str(work / "small-received")]
    _measure(receive, argv, log, env=prosecutor.env())
    shutil.rmtree(work / "small-received")
    return {"fixed_send_s": send.seconds[0], "fixed_receive_s": receive.seconds[0]}


def _cool(path: Path) -> None:
    """``path`` written out and dropped from the page cache: the next read is the disk's."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def _fail(message: str) -> NoReturn:
    raise rt.BenchError(message)


def _sha256_of(path: Path) -> str:
    shown = subprocess.run(
        ["openssl", "dgst", "-sha256", "-r", str(path)], check=True, capture_output=True, text=True
    ).stdout
    return shown.split()[0]


# cp's CPU seconds a GB with memory to spare (0.23-0.30 on the 2-CPU machine); far above
# it (2.5 was seen), new page-cache pages were being reclaimed from elsewhere as written.
CP_CPU_WARM = 0.6


def main() -> int:  # noqa: PLR0912, PLR0915 - one run, step by step
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--size", type=_size, default=rt.GIB, help="the file's size: 256M, 1G (default), 8G"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each step [3]")
    parser.add_argument("--tmp-dir", type=Path, default=None, help="where the files go")
    parser.add_argument("--json", type=Path, default=OUT_JSON, help="where the figures go")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    size = args.size
    for tool in ("age", "age-keygen", "curl", "openssl", "cp"):
        if not shutil.which(tool):
            parser.error(f"{tool} is not installed")
    if not rt.GNU_TIME.exists():
        parser.error("/usr/bin/time is not installed (Debian package 'time')")
    # The file, custody's stored blobs (one per round), one received copy and room.
    parent = rt._pick_parent(args.tmp_dir, (args.rounds + 4) * size + rt.GIB)
    work = Path(tempfile.mkdtemp(prefix="custody-throughput-", dir=parent))
    log = work / "bench.log"
    cli = rt._custody_cli()
    steps = {
        key: Figure(name)
        for key, name in (
            ("send_pipeline", "send: openssl & age | curl -T"),
            ("send", "custody send"),
            ("receive_pipeline", "receive: curl | age -d; openssl"),
            ("receive", "custody receive"),
            ("cp", "cp (same disk)"),
        )
    }
    extra: dict[str, float] = {}
    print(f"Working in {work} (log: {log}); load average {os.getloadavg()[0]:.1f}", flush=True)
    code = 1
    try:
        source = work / "interview.mp4"
        original = rt._make_file(source, size)
        key = work / "age-key.txt"
        rt._run(["age-keygen", "-o", str(key)], log=log)
        recipient = rt._run(["age-keygen", "-y", str(key)], log=log).strip()
        officer = rt.Person(work, "officer", "officer@police.bench.example")
        prosecutor = rt.Person(work, "prosecutor", "prosecutor@cps.bench.example")
        data, log_key = rt._setup(work, officer, prosecutor, log)
        floor = Figure("floor")
        _measure(floor, [*cli, "--version"], log, env=rt._clean_env())
        extra["cli_floor_rss_mb"] = floor.peak_rss_mb[0]
        with _nginx(work, log) as dav, rt._server(data, work / "server.log") as (url, server):
            for person in (officer, prosecutor):
                rt._sign_in(url, person, log_key, log)
            rt._run([*cli, "case", "create", rt.URN], env=officer.env(), log=log)
            unlock = Figure("unlock")
            _measure(unlock, [sys.executable, "-c", UNLOCK], log, env=officer.env())
            extra["key_unlock_rss_mb"] = unlock.peak_rss_mb[0]
            extra["key_unlock_s"] = unlock.seconds[0]
            extra.update(_fixed_cost(work, cli, officer, prosecutor, log))
            put = (
                f"openssl dgst -sha256 {source} > {work}/pipeline.sha256 & "
                f"age -e -r {recipient} {source} | curl -sS -f -T - {dav}/x.age; "
                f"s=$?; wait $! && exit $s"
            )
            out = work / "pipeline.out"
            get = (
                f"set -o pipefail; curl -sS -f {dav}/x.age | age -d -i {key} > {out} "
                f"&& openssl dgst -sha256 {out} > {work}/pipeline-out.sha256"
            )
            send = [
                *cli,
                "send",
                str(source),
                "--case",
                rt.URN,
                "--to",
                rt.CPS,
                "--again",
                "--progress",
            ]
            for round_ in range(args.rounds):
                flip = round_ % 2 == 1
                sent = work / "send-output.txt"
                sent.unlink(missing_ok=True)
                pair = [
                    ("send_pipeline", ["bash", "-c", put], {}),
                    ("send", send, {"env": officer.env(), "output": sent, "server": server.pid}),
                ]
                for key_, argv, kwargs in reversed(pair) if flip else pair:
                    _measure(steps[key_], argv, log, **kwargs)  # type: ignore[arg-type]
                # Both receives read their stored ciphertext from the disk, as a receive some
                # time after the send does: custody's blob store drops what it wrote from the
                # page cache; nginx does not, so its copy is dropped here.
                _cool(work / "dav" / "x.age")
                found = re.search(r"Sent transfer (\S+)", sent.read_text())
                if not found:
                    _fail(f"no transfer id in the output of custody send; see {log}")
                received = work / "received"
                shutil.rmtree(received, ignore_errors=True)
                pair = [
                    ("receive_pipeline", ["bash", "-c", get], {}),
                    (
                        "receive",
                        [*cli, "receive", found[1], "--out", str(received), "--progress"],
                        {"env": prosecutor.env(), "server": server.pid},
                    ),
                ]
                for key_, argv, kwargs in reversed(pair) if flip else pair:
                    _measure(steps[key_], argv, log, **kwargs)  # type: ignore[arg-type]
                if _sha256_of(received / source.name) != original:
                    _fail("custody receive gave back a different file")
                if _sha256_of(out) != original:
                    _fail("the receive pipeline gave back a different file")
                shutil.rmtree(received)
                out.unlink()
                copy = work / "copy.bin"
                _measure(steps["cp"], ["cp", str(source), str(copy)], log)
                copy.unlink()
                shown = "  ".join(
                    f"{f.name.split(':')[0]} {f.seconds[-1]:6.2f} s" for f in steps.values()
                )
                print(f"  round {round_ + 1}: {shown}", flush=True)
        code = 0
    except rt.BenchError as exc:
        print(f"throughput: {exc}\n(kept {work})", file=sys.stderr)
        return 1
    finally:
        if code == 0 and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    medians = {k: f.median() for k, f in steps.items()}
    rate = {k: size / rt.MB / s for k, s in medians.items()}
    ratios = {
        "custody send / send pipeline": medians["send_pipeline"] / medians["send"],
        "custody send / cp": medians["cp"] / medians["send"],
        "custody receive / receive pipeline": medians["receive_pipeline"] / medians["receive"],
        "custody receive / cp": medians["cp"] / medians["receive"],
    }
    gb = size / GB
    print(
        f"\n{size / rt.GIB:g} GiB, {args.rounds} rounds, {os.cpu_count()} CPUs, "
        f"load average now {os.getloadavg()[0]:.1f}; MB = 10^6 bytes; medians\n"
    )
    print(
        f"  {'step':34} {'seconds':>8} {'MB/s':>7} {'peak RSS MB':>12} {'CPU s/GB':>9} "
        f"{'server RSS MB':>14} {'server CPU s/GB':>16}"
    )
    for k, f in steps.items():
        server_rss = f"{max(f.server_peak_rss_mb):14.1f}" if f.server_peak_rss_mb else f"{'':14}"
        server_cpu = (
            f"{statistics.median(f.server_cpu_s) / gb:16.2f}" if f.server_cpu_s else f"{'':16}"
        )
        print(
            f"  {f.name:34} {medians[k]:8.2f} {rate[k]:7.0f} {max(f.peak_rss_mb):12.1f} "
            f"{statistics.median(f.cpu_s) / gb:9.2f} {server_rss} {server_cpu}"
        )
    cp_cpu = statistics.median(steps["cp"].cpu_s) / gb
    if cp_cpu > CP_CPU_WARM:
        print(
            f"\n  note: cp took {cp_cpu:.2f} CPU s a GB (about 0.3 with memory to spare): the\n"
            f"  machine was reclaiming memory for each new page written. Every step pays it for\n"
            f"  what it writes, and makes the next pay for what it leaves in the page cache: the\n"
            f"  absolute figures are the machine's, and the ratios lean towards the side that\n"
            f"  leaves less there. Before a run, as root: sync; echo 3 > /proc/sys/vm/drop_caches"
        )
    print("\n  throughput ratios (1.00 = as fast; above 1 = faster)")
    for name, value in ratios.items():
        print(f"    {name:38} {value:5.2f}")
    print(
        f"\n  key unlock alone: peak RSS {extra['key_unlock_rss_mb']:.1f} MB, "
        f"{extra['key_unlock_s']:.2f} s; CLI floor (custody --version) "
        f"{extra['cli_floor_rss_mb']:.1f} MB"
    )
    print(
        f"  fixed cost per command (a 1 MiB file): custody send {extra['fixed_send_s']:.2f} s, "
        f"custody receive {extra['fixed_receive_s']:.2f} s"
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "size_bytes": size,
                "rounds": args.rounds,
                "steps": {k: asdict(f) for k, f in steps.items()},
                "medians_s": medians,
                "mb_per_s": rate,
                "ratios": ratios,
                **extra,
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
                "python": platform.python_version(),
                "load_average": os.getloadavg(),
                "cp_cpu_s_per_gb": cp_cpu,
                "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nResults: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
