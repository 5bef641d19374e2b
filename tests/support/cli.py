"""The real ``custody`` command, run as a separate process, and what its answers must look like.

Every CLI call is a separate process with its own environment, stdin, stdout and stderr.
Starting a fresh interpreter costs ~1.3 s (the CLI imports FastAPI, SQLAlchemy, ...), so by
default the calls are forked from one helper process that imported ``custody.cli.main`` once
(the session's ``cli_runner`` fixture): each fork is a new process running exactly what the
``custody`` console script runs (``sys.exit(main(argv))``), with the same exit code, output
and traceback behaviour, in a fraction of a second. Servers, and calls made with
``real=True``, run the installed script itself; ``CUSTODY_TEST_REAL_CLI=1`` makes every call
do so.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CUSTODY = str(Path(sys.executable).with_name("custody"))
if not Path(CUSTODY).exists():  # pragma: no cover - an unusual install
    CUSTODY = shutil.which("custody") or CUSTODY
CALL_TIMEOUT = 120.0

# The helper: imports the CLI once, then forks one child per request. Requests and replies are
# JSON lines on its stdin/stdout; a child's own stdin/stdout/stderr are files named in the request.
_FORK_HELPER = r"""
import importlib, io, json, os, signal, sys, traceback
from custody.cli.main import COMMAND_INDEX, main

# The CLI imports a command's modules when it runs (cli/main.py): each fork would pay for
# them again. Imported here once, before any fork, with what send, receive, the failure
# path and the demo import inside their functions.
for module in {target.partition(":")[0] for target, _ in COMMAND_INDEX.values()} | {
    "custody.cli.output", "custody.cli.session_cmds", "custody.cli.views", "custody.client.sending",
    "custody.client.receiving", "custody.demo", "rich.progress",
}:
    importlib.import_module(module)

def child(req):
    os.setsid()
    os.chdir(req["cwd"])
    os.environ.clear()
    os.environ.update(req["env"])
    fd = os.open(req["stdin"] or os.devnull, os.O_RDONLY)
    os.dup2(fd, 0)
    for target, name in ((1, "stdout"), (2, "stderr")):
        out = os.open(req[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(out, target)
    def stream(fd, mode):
        raw = io.FileIO(fd, mode, closefd=False)
        return io.TextIOWrapper(io.BufferedReader(raw) if mode == "r" else raw,
                                encoding="utf-8", line_buffering=mode == "w")
    sys.stdin, sys.stdout, sys.stderr = stream(0, "r"), stream(1, "w"), stream(2, "w")
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        code = main(req["argv"])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(code if isinstance(code, int) else 1)

for line in sys.stdin:
    req = json.loads(line)
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        child(req)
    sys.stdout.write(json.dumps({"pid": pid}) + "\n")
    sys.stdout.flush()
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    sys.stdout.write(json.dumps({"rc": code}) + "\n")
    sys.stdout.flush()
"""


class ForkRunner:
    """Runs ``custody ARGV`` in a fresh forked process of a pre-imported helper."""

    def __init__(self, workdir: Path) -> None:
        self._workdir = workdir
        env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTODY_")}
        env["PYTHONIOENCODING"] = "utf-8"
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _FORK_HELPER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd=workdir,
        )
        self._count = 0
        self._pending = b""

    def _reply(self, deadline: float) -> dict[str, Any]:
        """The helper's next JSON line. Read from the pipe's descriptor into our own buffer:
        both lines of a fast call arrive together, and a buffered reader would keep the
        second where ``select`` cannot see it (the next call would wait for nothing)."""
        assert self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        while b"\n" not in self._pending:
            wait = max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([fd], [], [], wait)
            if not ready:
                raise TimeoutError
            chunk = os.read(fd, 65536)
            if not chunk:
                raise RuntimeError("the CLI fork helper died")
            self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def run(self, argv: list[str], env: dict[str, str], cwd: Path, stdin: bytes | None,
            timeout: float) -> subprocess.CompletedProcess[str]:
        self._count += 1
        base = self._workdir / f"call-{self._count}"
        paths = {name: base.with_suffix(f".{name}") for name in ("stdin", "stdout", "stderr")}
        if stdin is not None:
            paths["stdin"].write_bytes(stdin)
        request = {"argv": argv, "env": env, "cwd": str(cwd),
                   "stdin": str(paths["stdin"]) if stdin is not None else None,
                   "stdout": str(paths["stdout"]), "stderr": str(paths["stderr"])}
        assert self._proc.stdin is not None
        self._proc.stdin.write((json.dumps(request) + "\n").encode())
        self._proc.stdin.flush()
        deadline = time.monotonic() + timeout
        pid = int(self._reply(deadline)["pid"])
        try:
            rc = int(self._reply(deadline)["rc"])
        except TimeoutError:
            os.kill(pid, signal.SIGKILL)  # the child we asked for, by its id
            self._reply(time.monotonic() + 10)
            raise subprocess.TimeoutExpired(["custody", *argv], timeout) from None
        out = paths["stdout"].read_text(errors="replace")
        err = paths["stderr"].read_text(errors="replace")
        for p in paths.values():
            p.unlink(missing_ok=True)
        return subprocess.CompletedProcess(["custody", *argv], rc, out, err)

    def close(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()


_RUNNER: ForkRunner | None = None


def base_env(**extra: str) -> dict[str, str]:
    """The environment of a CLI call: this one without CUSTODY_*, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTODY_")}
    env.update({"LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8"})
    env.update(extra)
    return env


def run_custody(argv: list[str], env: dict[str, str], *, cwd: Path | None = None,
                input: bytes | None = None, timeout: float = CALL_TIMEOUT,
                real: bool = False) -> subprocess.CompletedProcess[str]:
    """``custody ARGV`` as a separate process; stdout and stderr decoded as UTF-8."""
    cwd = cwd or Path(env.get("CUSTODY_HOME") or env.get("HOME") or Path.cwd())
    if _RUNNER is None or real or os.environ.get("CUSTODY_TEST_REAL_CLI"):
        done = subprocess.run([CUSTODY, *argv], env=env, cwd=cwd, input=input,
                              capture_output=True, timeout=timeout, check=False)
        return subprocess.CompletedProcess(done.args, done.returncode,
                                           done.stdout.decode(errors="replace"),
                                           done.stderr.decode(errors="replace"))
    return _RUNNER.run(argv, env, cwd, input, timeout)


@contextmanager
def forked_calls(workdir: Path) -> Iterator[None]:
    """While open, ``run_custody`` forks its calls from one helper that imported the CLI."""
    global _RUNNER  # noqa: PLW0603 - one helper for the session, used by plain functions
    if os.environ.get("CUSTODY_TEST_REAL_CLI"):
        yield
        return
    _RUNNER = ForkRunner(workdir)
    try:
        yield
    finally:
        _RUNNER.close()
        _RUNNER = None


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    """The call succeeded; on failure, show everything it said."""
    assert result.returncode == 0, (
        f"{' '.join(map(str, result.args))} exited {result.returncode}\n"
        f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    assert "Traceback" not in result.stdout + result.stderr
    return result


def assert_fails(result: subprocess.CompletedProcess[str], *words: str,
                 code: int | None = None) -> str:
    """A clear refusal: non-zero exit, ``error: ...`` naming ``words``, no traceback anywhere."""
    said = f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.returncode != 0, f"expected a failure, got exit 0\n{said}"
    assert "Traceback" not in result.stdout + result.stderr, said
    assert "internal error" not in result.stderr, said
    assert result.stderr.startswith("error:"), said
    for word in words:
        assert word.lower() in result.stderr.lower(), f"{word!r} not in the error\n{said}"
    if code is not None:
        assert result.returncode == code, said
    return result.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
