"""Round trip of one large file through a real custody server: throughput and peak memory.

Sets up a fresh server data folder the way ``custody demo`` does (admin init,
two organisations, an officer and a prosecutor, each with their own client
folder), starts ``custody serve``, makes a file of ``--size-gib`` GiB, and runs
``custody send`` and ``custody receive`` as separate processes, measuring the
wall time and peak RSS of each, and the server's peak RSS (VmHWM) in each
phase. Baselines on the same file in the same run: ``cp`` (disk), ``age -e`` and
``age -d`` to /dev/null (the age tool), and ``curl -T`` over loopback to a
discarding HTTP sink. What is not installed is skipped, saying so. The received
file must equal the original (SHA-256).

Prints a table (MB = 10^6 bytes), writes ``bench/out/roundtrip.json``, and
exits 1 if any step failed, the round trip changed the file, or a client or the
server went over the 200 MB memory limit.

    .venv/bin/python bench/roundtrip.py [--size-gib 2] [--tmp-dir DIR] [--keep]

Peak RSS of a child comes from ``/usr/bin/time -v`` when installed (Debian
package ``time``), else from ``os.wait4``'s rusage of that one child (which can
include this script's own RSS at spawn time, a few MB, as a floor).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import resource
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyotp

REPO = Path(__file__).resolve().parents[1]
OUT_JSON = REPO / "bench" / "out" / "roundtrip.json"
MEMORY_LIMIT_MB = 200.0
MB = 1_000_000
MIB = 1024 * 1024
GIB = 1024 * MIB
GNU_TIME = Path("/usr/bin/time")
POLICE = "Bench Police Unit"
CPS = "Bench Prosecution Unit"
URN = "47BB0000001"

# A sink for the curl baseline: reads and discards the request body, answers 201.
SINK = r"""
import socket, sys
srv = socket.create_server(("127.0.0.1", 0))
print(srv.getsockname()[1], flush=True)
buf = bytearray(1 << 20)
while True:
    conn, _ = srv.accept()
    with conn:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = conn.recv(65536)
            if not chunk:
                break
            head += chunk
        header, _, rest = head.partition(b"\r\n\r\n")
        length = 0
        for line in header.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
            if name.strip().lower() == b"expect":
                conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        left = length - len(rest)
        view = memoryview(buf)
        while left > 0:
            n = conn.recv_into(view, min(left, len(buf)))
            if not n:
                break
            left -= n
        conn.sendall(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
"""


@dataclass
class Measured:
    """One timed process: wall seconds, and the child's own peak RSS and CPU seconds."""

    name: str
    command: str
    seconds: float
    peak_rss_mb: float
    cpu_user_s: float
    cpu_sys_s: float
    mb_per_s: float | None = None


@dataclass
class Results:
    size_bytes: int
    started_at: str
    machine: dict[str, Any]
    rss_method: str
    steps: dict[str, Measured] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    # By phase; if VmHWM could not be reset, each is the peak since the server started.
    server_peak_rss_mb: dict[str, float] = field(default_factory=dict)
    server_hwm_reset: bool = False
    ratios: dict[str, float] = field(default_factory=dict)
    memory: dict[str, dict[str, Any]] = field(default_factory=dict)
    sha256: dict[str, str] = field(default_factory=dict)
    round_trip_ok: bool = False
    passed: bool = False


class BenchError(Exception):
    """A step of the benchmark failed; the message says which and why."""


def _kib_to_mb(kib: float) -> float:
    return kib * 1024 / MB


def _run_measured(name: str, argv: list[str], *, env: dict[str, str] | None = None,
                  log: Path, size: int | None = None, output: Path | None = None) -> Measured:
    """Run argv to completion; wall time here, peak RSS and CPU of that child alone.

    Its output goes to the log, or to output if given (and then it is copied to the log).
    """
    shown = shlex.join(argv)
    with log.open("ab") as out:
        out.write(f"\n$ {shown}\n".encode())
    with (output or log).open("ab") as out:
        if GNU_TIME.exists():
            report = log.with_name(f"time-{secrets.token_hex(4)}.txt")
            started = time.perf_counter()
            code = subprocess.call([str(GNU_TIME), "-v", "-o", str(report), *argv],
                                   env=env, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
            seconds = time.perf_counter() - started
            text = report.read_text()
            report.unlink()
            rss = _kib_to_mb(float(_field(text, "Maximum resident set size (kbytes)")))
            user = float(_field(text, "User time (seconds)"))
            system = float(_field(text, "System time (seconds)"))
        else:
            started = time.perf_counter()
            proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL)
            _, status, usage = os.wait4(proc.pid, 0)
            seconds = time.perf_counter() - started
            proc.returncode = code = os.waitstatus_to_exitcode(status)
            rss, user, system = _kib_to_mb(usage.ru_maxrss), usage.ru_utime, usage.ru_stime
    if output:
        with log.open("ab") as out:
            out.write(output.read_bytes())
    if code != 0:
        raise BenchError(f"{name} failed (exit {code}): {shown}; see {log}")
    rate = size / MB / seconds if size else None
    return Measured(name, shown, seconds, rss, user, system, rate)


def _field(text: str, label: str) -> str:
    match = re.search(rf"^\s*{re.escape(label)}:\s*(\S+)", text, re.MULTILINE)
    if not match:
        raise BenchError(f"/usr/bin/time -v printed no {label!r}")
    return match.group(1)


def _run(argv: list[str], *, env: dict[str, str] | None = None, log: Path) -> str:
    """Run a setup command; return its output, fail loudly with the log's tail."""
    result = subprocess.run(argv, env=env, capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, check=False)
    with log.open("a") as out:
        out.write(f"\n$ {shlex.join(argv)}\n{result.stdout}{result.stderr}")
    if result.returncode != 0:
        raise BenchError(f"{shlex.join(argv)} exited {result.returncode}:\n"
                         f"{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return result.stdout


def _custody_cli() -> list[str]:
    """The `custody` console script next to this interpreter, else `python -m custody`."""
    script = Path(sys.executable).with_name("custody")
    return [str(script)] if script.exists() else [sys.executable, "-m", "custody"]


def _clean_env(**extra: str) -> dict[str, str]:
    """This environment without any CUSTODY_* settings (so nothing leaks in), plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTODY_")}
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(url: str, proc: subprocess.Popen[bytes], what: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise BenchError(f"{what} did not start; see {log}")
        time.sleep(0.1)


def _vm_hwm_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return _kib_to_mb(float(_field(status, "VmHWM").strip()))


def _reset_hwm(pid: int) -> bool:
    """Reset a process's peak RSS (Linux: write 5 to clear_refs); False if not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


@contextmanager
def _server(data: Path, log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("ab") as out:
        proc = subprocess.Popen([*_custody_cli(), "serve", "--data-dir", str(data),
                                 "--port", str(port)],
                                env=_clean_env(), stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        try:
            _wait_http(f"{url}/healthz", proc, "custody serve", log)
            yield url, proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _make_file(path: Path, size: int) -> str:
    """Write size bytes of incompressible data, 1 MiB at a time; return its SHA-256."""
    pool = os.urandom(8 * MIB + MIB)
    digest = hashlib.sha256()
    written = 0
    with path.open("wb") as f:
        while written < size:
            n = min(MIB, size - written)
            start = (written // MIB * 7919 * 4096) % (8 * MIB)
            block = (written // MIB).to_bytes(8, "big") + pool[start + 8 : start + n]
            f.write(block)
            digest.update(block)
            written += n
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(MIB):
            digest.update(chunk)
    return digest.hexdigest()


class Person:
    def __init__(self, root: Path, name: str, email: str) -> None:
        self.name = name
        self.email = email
        self.home = root / "people" / name
        self.password = secrets.token_urlsafe(12)
        self.passphrase = secrets.token_urlsafe(12)

    def env(self) -> dict[str, str]:
        return _clean_env(CUSTODY_HOME=str(self.home), CUSTODY_PASSWORD=self.password,
                          CUSTODY_PASSPHRASE=self.passphrase)


def _pick_parent(requested: Path | None, needed: int) -> Path:
    """The folder for the temporary files: as asked, else the candidate with most free space."""
    candidates = [requested] if requested else [Path(tempfile.gettempdir()), REPO / "bench" / "out"]
    for folder in candidates:
        folder.mkdir(parents=True, exist_ok=True)
    best = max(candidates, key=lambda folder: shutil.disk_usage(folder).free)
    best_free = shutil.disk_usage(best).free
    if best_free < needed:
        raise BenchError(f"{best} has {best_free / GIB:.1f} GiB free; this run needs about "
                         f"{needed / GIB:.1f} GiB (use --tmp-dir or a smaller --size-gib)")
    return best


def _finish(args: argparse.Namespace, record: dict[str, Any], work: Path, failed: bool) -> int:
    """A bench's end: its record written to ``--json``, its work folder removed unless
    ``--keep`` or it failed (then kept, to look at); the exit code."""
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(record, indent=2))
    if args.keep or failed:
        print(f"kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


def _setup(work: Path, officer: Person, prosecutor: Person, log: Path) -> tuple[Path, str]:
    """A server's data folder with two organisations and the two people; and the log's key."""
    cli = _custody_cli()
    data = work / "server"
    admin_env = _clean_env()
    made = _run([*cli, "admin", "init", "--data-dir", str(data), "--origin",
                 "bench.custody/ledger", "--json"], env=admin_env, log=log)
    log_key = str(json.loads(made)["log_key"])
    (work / "recovery").mkdir()
    for org, kind in ((POLICE, "police"), (CPS, "prosecution")):
        _run([*cli, "admin", "org", "create", org, "--kind", kind, "--data-dir", str(data),
              "--recovery-key-out", str(work / "recovery" / f"{kind}.txt")], env=admin_env, log=log)
    for person, org, role in ((officer, POLICE, "officer"), (prosecutor, CPS, "prosecutor")):
        _run([*cli, "admin", "user", "create", person.email, "--org", org, "--role", role,
              "--data-dir", str(data)],
             env=_clean_env(CUSTODY_NEW_PASSWORD=person.password), log=log)
    return data, log_key


def _sign_in(url: str, person: Person, log_key: str, log: Path) -> None:
    """The person's first login (pinning the log's key), enrolment and keys."""
    cli = _custody_cli()
    shown = _run([*cli, "login", "--server", url, "--email", person.email, "--log-key", log_key],
                 env=person.env(), log=log)
    # The person's authenticator app (pyotp) enrols from the secret the login shows.
    secret = re.search(r"secret: ([A-Z2-7]+)", shown)
    if secret is None:
        raise BenchError(f"login showed no second-factor secret:\n{shown}")
    _run([*cli, "enrol"], env={**person.env(), "CUSTODY_TOTP_CODE": pyotp.TOTP(secret[1]).now()},
         log=log)
    _run([*cli, "keys", "init"], env=person.env(), log=log)


def _baselines(results: Results, work: Path, source: Path, size: int, log: Path) -> None:
    copy = work / "copy.bin"
    if shutil.which("cp"):
        results.steps["cp"] = _run_measured("cp (disk)", ["cp", str(source), str(copy)],
                                            log=log, size=size)
        copy.unlink()
    else:
        results.skipped["cp"] = "cp not found"

    age, keygen = shutil.which("age"), shutil.which("age-keygen")
    if age and keygen:
        key = work / "age-key.txt"
        _run([keygen, "-o", str(key)], log=log)
        recipient = _run([keygen, "-y", str(key)], log=log).strip()
        results.steps["age_encrypt"] = _run_measured(
            "age -e (to /dev/null)", [age, "-e", "-r", recipient, "-o", "/dev/null", str(source)],
            log=log, size=size)
        sealed = work / "source.age"
        _run([age, "-e", "-r", recipient, "-o", str(sealed), str(source)], log=log)
        results.steps["age_decrypt"] = _run_measured(
            "age -d (to /dev/null)", [age, "-d", "-i", str(key), "-o", "/dev/null", str(sealed)],
            log=log, size=size)
        sealed.unlink()
    else:
        results.skipped["age"] = "the age tool is not installed (apt-get install age)"

    curl = shutil.which("curl")
    if curl:
        with log.open("ab") as out:
            sink = subprocess.Popen([sys.executable, "-c", SINK], stdout=subprocess.PIPE,
                                    stderr=out, stdin=subprocess.DEVNULL)
        try:
            if sink.stdout is None:
                raise BenchError("the HTTP sink has no stdout")
            port = int(sink.stdout.readline())
            results.steps["curl_put"] = _run_measured(
                "curl -T (loopback, discarded)",
                [curl, "-sS", "-f", "-o", "/dev/null", "-T", str(source),
                 f"http://127.0.0.1:{port}/sink"], log=log, size=size)
        finally:
            sink.kill()
            sink.wait()
    else:
        results.skipped["curl_put"] = "curl not installed"


def _roundtrip(results: Results, work: Path, source: Path, size: int, log: Path) -> None:
    cli = _custody_cli()
    officer = Person(work, "officer", "officer@police.bench.example")
    prosecutor = Person(work, "prosecutor", "prosecutor@cps.bench.example")
    data, log_key = _setup(work, officer, prosecutor, log)
    # The floor under every client figure: the interpreter and the CLI's imports.
    results.steps["cli_floor"] = _run_measured("custody --version (CLI floor)",
                                               [*cli, "--version"], env=_clean_env(), log=log)
    with _server(data, work / "server.log") as (url, server):
        for person in (officer, prosecutor):
            _sign_in(url, person, log_key, log)
        _run([*cli, "case", "create", URN], env=officer.env(), log=log)
        results.server_peak_rss_mb["setup"] = _vm_hwm_mb(server.pid)
        resettable = results.server_hwm_reset = _reset_hwm(server.pid)

        sent = work / "send-output.txt"
        results.steps["send"] = _run_measured(
            "custody send", [*cli, "send", str(source), "--case", URN, "--to", CPS],
            env=officer.env(), log=log, size=size, output=sent)
        results.server_peak_rss_mb["send"] = _vm_hwm_mb(server.pid)
        match = re.search(r"Sent transfer (\S+)", sent.read_text())
        if not match:
            raise BenchError(f"no transfer id in the output of custody send; see {log}")
        transfer = match.group(1)
        if resettable:
            _reset_hwm(server.pid)

        received = work / "received"
        results.steps["receive"] = _run_measured(
            "custody receive", [*cli, "receive", transfer, "--out", str(received)],
            env=prosecutor.env(), log=log, size=size)
        results.server_peak_rss_mb["receive"] = _vm_hwm_mb(server.pid)
    results.sha256["received"] = _sha256(received / source.name)
    results.round_trip_ok = results.sha256["received"] == results.sha256["original"]


def _judge(results: Results) -> None:
    def rate(key: str) -> float | None:
        step = results.steps.get(key)
        return step.mb_per_s if step else None

    for ratio, (top, bottom) in {"send/cp": ("send", "cp"),
                                 "send/age_encrypt": ("send", "age_encrypt"),
                                 "receive/age_decrypt": ("receive", "age_decrypt"),
                                 "send/curl_put": ("send", "curl_put")}.items():
        a, b = rate(top), rate(bottom)
        if a and b:
            results.ratios[ratio] = a / b
    server_peak = max(results.server_peak_rss_mb.values())
    for who, peak in (("client send", results.steps["send"].peak_rss_mb),
                      ("client receive", results.steps["receive"].peak_rss_mb),
                      ("server", server_peak)):
        results.memory[who] = {"peak_rss_mb": peak, "limit_mb": MEMORY_LIMIT_MB,
                               "pass": peak <= MEMORY_LIMIT_MB}
    results.passed = results.round_trip_ok and all(m["pass"] for m in results.memory.values())


def _fmt(value: float | None, width: int, decimals: int) -> str:
    return f"{'—':>{width}}" if value is None else f"{value:{width}.{decimals}f}"


def _print_table(results: Results) -> None:
    size = results.size_bytes
    print(f"\nRound trip of {size / GIB:.2f} GiB ({size / MB:,.0f} MB) on "
          f"{results.machine['cpus']} CPUs, {results.machine['python']}; "
          f"MB = 10^6 bytes; peak RSS via {results.rss_method}\n")
    print(f"  {'step':32} {'seconds':>8} {'MB/s':>8} {'peak RSS MB':>12} {'CPU s':>7}")
    for step in results.steps.values():
        cpu = step.cpu_user_s + step.cpu_sys_s
        print(f"  {step.name:32} {step.seconds:8.1f} {_fmt(step.mb_per_s, 8, 0)} "
              f"{step.peak_rss_mb:12.1f} {cpu:7.1f}")
    for key, why in results.skipped.items():
        print(f"  {key:32} skipped: {why}")
    print("\n  throughput ratios (1.00 = as fast as the baseline)")
    for name, value in results.ratios.items():
        print(f"    {name:24} {value:6.2f}")
    server = results.server_peak_rss_mb
    phases = ", ".join(f"{k} {v:.1f}" for k, v in server.items())
    note = "" if results.server_hwm_reset else " (cumulative: VmHWM could not be reset)"
    print(f"\n  server peak RSS MB by phase: {phases}{note}")
    print(f"  memory limit {MEMORY_LIMIT_MB:.0f} MB:")
    for who, m in results.memory.items():
        print(f"    {who:24} {m['peak_rss_mb']:8.1f} MB  {'PASS' if m['pass'] else 'FAIL'}")
    same = "identical" if results.round_trip_ok else "DIFFERENT"
    print(f"\n  received file vs original (SHA-256): {same}")
    print(f"  overall: {'PASS' if results.passed else 'FAIL'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size-gib", type=float, default=2.0,
                        help="size of the file sent (GiB, default 2)")
    parser.add_argument("--tmp-dir", type=Path, default=None,
                        help="where the temporary files go (default: the one with most free "
                             "space of $TMPDIR and bench/out)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary files (kept anyway if the round trip fails)")
    parser.add_argument("--json", type=Path, default=OUT_JSON, help=f"default {OUT_JSON}")
    args = parser.parse_args()
    size = int(args.size_gib * GIB)
    if size <= 0:
        parser.error("--size-gib must be positive")

    # Original, server copy, received copy and one baseline copy at a time, plus room.
    parent = _pick_parent(args.tmp_dir, 4 * size + GIB)
    work = Path(tempfile.mkdtemp(prefix="custody-roundtrip-", dir=parent))
    log = work / "bench.log"
    results = Results(
        size_bytes=size,
        started_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        machine={"cpus": os.cpu_count(), "python": f"Python {platform.python_version()}",
                 "platform": platform.platform(), "tmp_dir": str(work)},
        rss_method="/usr/bin/time -v" if GNU_TIME.exists() else "os.wait4 rusage",
    )
    print(f"Working in {work} (log: {log})")
    code = 1
    try:
        source = work / "case-video.bin"
        started = time.perf_counter()
        results.sha256["original"] = _make_file(source, size)
        print(f"  made a {size / GIB:.2f} GiB file in {time.perf_counter() - started:.1f} s")
        print("  baselines: cp, age, curl ...")
        _baselines(results, work, source, size, log)
        print("  custody: setup, send, receive ...")
        _roundtrip(results, work, source, size, log)
        _judge(results)
        _print_table(results)
        code = 0 if results.passed else 1
    except BenchError as exc:
        print(f"roundtrip: {exc}", file=sys.stderr)
    finally:
        results.machine["bench_peak_rss_mb"] = _kib_to_mb(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = asdict(results)
        payload["exit_code"] = code
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"\nResults: {args.json}")
        if args.keep or not results.round_trip_ok:
            print(f"Kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
