"""How far a long operation has got: the seam between the client's loops and whatever shows it.

``send`` and ``receive`` call a :class:`Progress` as they go: once with the whole job's
bytes, then per file its name and size and, from the hot loop, every block's length. The
CLI draws bars from these (``custody.cli.progress``); the default, :data:`SILENT`, does
nothing. An implementation must be cheap per call: ``advance`` runs once per 64 KiB.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def start(self, total: int, files: int) -> None:
        """The whole job: ``total`` bytes over ``files`` files."""

    def file(self, name: str, size: int) -> None:
        """The next file, of ``size`` bytes (the previous one, if any, is done)."""

    def advance(self, n: int) -> None:
        """``n`` more bytes of the current file done."""

    def finish(self) -> None:
        """The job is over (done, or stopped by an error)."""


class _Silent:
    def start(self, total: int, files: int) -> None:
        pass

    def file(self, name: str, size: int) -> None:
        pass

    def advance(self, n: int) -> None:
        pass

    def finish(self) -> None:
        pass


SILENT: Progress = _Silent()
