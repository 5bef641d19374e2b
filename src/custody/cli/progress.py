"""Progress of ``send`` and ``receive``: bytes, speed and time left, per file and overall.

Drawn with rich on standard error, only when both standard output and standard error are a
terminal (never into a pipe or a log unless ``--progress`` asks: then one plain line a
second), and never with ``--quiet``. The client calls :meth:`advance` once per 64 KiB; the
bars are redrawn at most four times a second, from this thread (no refresh thread), so the
cost per call is an addition and, past a megabyte, a clock read.
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

import click

from custody.cli.output import say
from custody.client import progress as client_progress
from custody.client.sizes import human_size

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import TaskID

_Command = TypeVar("_Command", bound=Callable[..., Any])
REDRAW = 0.25  # seconds between redraws at most: a redraw costs ~1.5 ms, 0.6% of the loop
_CHECK = 1 << 20  # bytes between clock reads


_show_progress = click.option(
    "--progress",
    "show_progress",
    is_flag=True,
    help="Show progress even when the output is not a terminal (a plain line a second).",
)
_quiet = click.option(
    "-q", "--quiet", is_flag=True, help="No progress, and no line per file; the result only."
)


def progress_options(command: _Command) -> _Command:
    """``--progress`` and ``--quiet``: bars show on a terminal by themselves, never in a pipe."""
    return _quiet(_show_progress(command))


def quiet_say(_: str) -> None:
    """``say`` under ``--quiet``: the line per file is not printed."""


def wanted(forced: bool, quiet: bool) -> bool:
    """Bars on a terminal; into a pipe only if ``--progress``; never with ``--quiet``."""
    if quiet:
        return False
    return forced or (sys.stdout.isatty() and sys.stderr.isatty())


class Bars:
    """A :class:`custody.client.progress.Progress` as rich bars: the file now, and overall."""

    def __init__(self, verb: str, console: Console | None = None) -> None:
        # Imported here: a command that draws no bars does not pay for rich (~0.1 s).
        from rich.console import Console  # noqa: PLC0415
        from rich.progress import (  # noqa: PLC0415
            BarColumn,
            DownloadColumn,
            Progress,
            ProgressColumn,
            Task,
            TextColumn,
            TimeRemainingColumn,
        )
        from rich.text import Text  # noqa: PLC0415

        class Speed(ProgressColumn):
            """Bytes a second in the units of the rest of the CLI (MiB/s, not MB/s)."""

            def render(self, task: Task) -> Text:
                speed = task.finished_speed or task.speed
                return Text("-" if speed is None else f"{human_size(int(speed))}/s")

        self.verb = verb
        self.console = console or Console(stderr=True)
        self.bars = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            DownloadColumn(binary_units=True),
            Speed(),
            TimeRemainingColumn(),
            console=self.console,
            auto_refresh=False,
        )
        self.overall: TaskID | None = None
        self.current: TaskID | None = None
        self.pending = 0
        self.last = 0.0

    def start(self, total: int, files: int) -> None:
        self.bars.start()
        self.overall = self.bars.add_task(f"{self.verb} {files} file(s)", total=total)

    def file(self, name: str, size: int) -> None:
        self._flush()
        if self.current is not None:
            self.bars.remove_task(self.current)
        self.current = self.bars.add_task(f"  {name}", total=size)
        self.bars.refresh()

    def advance(self, n: int) -> None:
        self.pending += n
        if self.pending >= _CHECK and time.monotonic() - self.last >= REDRAW:
            self._flush()

    def finish(self) -> None:
        self._flush()
        if self.current is not None:
            self.bars.remove_task(self.current)
            self.current = None
        self.bars.stop()

    def _flush(self) -> None:
        for task in (self.current, self.overall):
            if task is not None:
                self.bars.advance(task, self.pending)
        self.pending = 0
        self.last = time.monotonic()
        self.bars.refresh()

    def say(self, text: str) -> None:
        """A message above the bars (printing under them would tear the display)."""
        if self.bars.live.is_started:
            self.console.print(text, markup=False, highlight=False)
        else:
            say(text)


class Lines:
    """``--progress`` into a pipe or a log: one plain line a second, overall."""

    def __init__(self, verb: str) -> None:
        self.verb = verb
        self.total = self.done = self.pending = 0
        self.began = self.last = 0.0

    def start(self, total: int, files: int) -> None:
        self.total, self.began = total, time.monotonic()
        self.last = self.began

    def file(self, name: str, size: int) -> None:
        self._flush()
        click.echo(f"{self.verb} {name} ({human_size(size)})", err=True)

    def advance(self, n: int) -> None:
        self.pending += n
        if self.pending >= _CHECK and time.monotonic() - self.last >= 1.0:
            self._line()

    def finish(self) -> None:
        self._line()

    def _flush(self) -> None:
        self.done += self.pending
        self.pending = 0

    def _line(self) -> None:
        self._flush()
        self.last = time.monotonic()
        rate = self.done / max(self.last - self.began, 1e-6)
        left = f"{(self.total - self.done) / rate:.0f} s left" if rate else "-"
        click.echo(
            f"{self.verb} {human_size(self.done)} of {human_size(self.total)}, "
            f"{human_size(int(rate))}/s, {left}",
            err=True,
        )

    def say(self, text: str) -> None:
        say(text)


def progress_for(
    verb: str, *, forced: bool, quiet: bool
) -> tuple[client_progress.Progress, Callable[[str], None] | None]:
    """The progress to show for ``verb`` and, if it draws on the terminal, how to print a
    message without tearing it (None: print as usual)."""
    if not wanted(forced, quiet):
        return client_progress.SILENT, None
    if sys.stderr.isatty():
        bars = Bars(verb)
        return bars, bars.say
    lines = Lines(verb)
    return lines, None


class _Counting(io.RawIOBase):
    """A file whose reads advance a progress (``verify --file`` of a large copy)."""

    def __init__(self, raw: BinaryIO, progress: client_progress.Progress) -> None:
        self.raw, self.progress = raw, progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        buffer[: len(data)] = data
        self.progress.advance(len(data))
        return len(data)


def reading(raw: BinaryIO, progress: client_progress.Progress) -> BinaryIO:
    """``raw``, read through ``progress``."""
    return io.BufferedReader(_Counting(raw, progress), buffer_size=1 << 20)
