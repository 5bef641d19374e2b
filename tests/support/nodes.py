"""A ``custody serve`` of a test server's data on a fixed port, started, killed and started
again at will (the fault tests): with or without armed fault points."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from support.cli import CUSTODY, free_port
from support.server import Server, wait_healthy


class Node:
    """One server process at a time on ``url``; each start logs to ``node-N.log`` in ``work``."""

    def __init__(self, server: Server, work: Path) -> None:
        self.server, self.work = server, work
        self.url = f"http://127.0.0.1:{free_port()}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = self.kills = 0

    @property
    def log(self) -> Path:
        return self.work / f"node-{self.starts}.log"

    def start(self, points: str = "", **env: str) -> None:
        """Start (after stopping a running one), ``CUSTODY_FAULT_POINTS=points`` if given."""
        self.stop()
        self.starts += 1
        extra = {"CUSTODY_FAULT_POINTS": points} if points else {}
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [CUSTODY, "serve", "--data-dir", str(self.server.data_dir), "--port",
                 self.url.rsplit(":", 1)[1]], env={**self.server.env, **extra, **env},
                cwd=self.work, stdout=out, stderr=subprocess.STDOUT)
        wait_healthy(self.url, self.proc, self.log)

    def kill(self) -> None:
        """``kill -9``."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.kills += 1

    def died_at(self, point: str) -> None:
        """The node killed itself at fault point ``point`` (not some other failure)."""
        assert self.proc is not None
        assert self.proc.wait(timeout=60) == -signal.SIGKILL
        assert f"fault point {point} reached" in self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


@contextmanager
def node(server: Server, work: Path, *, start: bool = False) -> Iterator[Node]:
    """A :class:`Node`, started now if ``start``, stopped at the end."""
    made = Node(server, work)
    try:
        if start:
            made.start()
        yield made
    finally:
        made.stop()
