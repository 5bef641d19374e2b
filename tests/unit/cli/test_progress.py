"""Progress of ``send`` and ``receive`` (issue 16): bars on a terminal, redrawn a few times a
second however fast the bytes come; nothing in a pipe unless ``--progress``; ``--quiet``
silences it."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from rich.console import Console

from custody.cli import progress
from custody.client.trust import parse_log_key
from support.world import CPS, new_urn

from .conftest import Terminal

MIB = 1024 * 1024
BLOCK = 64 * 1024


def test_bars_show_bytes_speed_and_time_left_and_redraw_at_most_four_times_a_second(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: now[0])
    screen = io.StringIO()
    bars = progress.Bars("sending", Console(file=screen, force_terminal=True, width=120))
    redraws = 0
    real_refresh = bars.bars.refresh

    def counted() -> None:
        nonlocal redraws
        redraws += 1
        real_refresh()

    monkeypatch.setattr(bars.bars, "refresh", counted)
    bars.start(64 * MIB, 1)
    bars.file("ABE-interview.mp4", 64 * MIB)
    before = redraws
    for _ in range(64 * MIB // BLOCK // 2):  # 32 MiB within one instant: one redraw at most
        bars.advance(BLOCK)
    assert redraws - before <= 1
    for _ in range(10):  # then a second, in steps of a tenth: four redraws at most
        now[0] += 0.1
        for _ in range(32 * MIB // BLOCK // 10):
            bars.advance(BLOCK)
    assert redraws - before <= 1 + 4
    bars.finish()
    drawn = screen.getvalue()
    assert "sending 1 file(s)" in drawn
    assert "ABE-interview.mp4" in drawn
    assert re.search(r"\d+(\.\d+)?/64\.0 MiB", drawn), drawn
    assert re.search(r"\d+(\.\d+)? [KMG]iB/s", drawn), drawn


def test_bars_only_on_a_terminal_unless_asked_and_never_when_quiet(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for stdout, stderr, forced, quiet, shown in [
        (True, True, False, False, True),
        (False, True, False, False, False),  # custody send ... | tee log
        (True, False, False, False, False),
        (False, False, True, False, True),
        (True, True, False, True, False),
        (False, False, True, True, False),
    ]:
        monkeypatch.setattr(progress.sys.stdout, "isatty", lambda s=stdout: s)
        monkeypatch.setattr(progress.sys.stderr, "isatty", lambda s=stderr: s)
        assert progress.wanted(forced, quiet) is shown, (stdout, stderr, forced, quiet)


def _exhibit(tmp_path: Path, size: int) -> Path:
    path = tmp_path / "CCTV-exhibit.mp4"
    path.write_bytes(os.urandom(size))
    return path


def test_send_and_receive_into_a_pipe_print_progress_only_when_asked(
    terminal: Terminal, tmp_path: Path
) -> None:
    officer, prosecutor = terminal.desks.officer, terminal.desks.prosecutor
    urn = new_urn()
    terminal.ok(officer, "case", "create", urn)
    source = _exhibit(tmp_path, 3 * MIB)

    quiet = terminal.ok(officer, "send", source, "--case", urn, "--to", CPS)
    assert "sending" not in quiet.err  # a pipe: no progress
    assert "CCTV-exhibit.mp4: sealed and signed" in quiet.out

    asked = terminal.ok(
        officer, "send", source, "--case", urn, "--to", CPS, "--progress", "--again"
    )
    assert "sending CCTV-exhibit.mp4 (3.0 MiB)" in asked.err
    assert re.search(r"^sending 3\.0 MiB of 3\.0 MiB, .*/s, 0 s left$", asked.err, re.M), asked.err
    transfer = re.search(r"Sent transfer (\S+)", asked.out)
    assert transfer

    got = terminal.ok(prosecutor, "receive", transfer[1], "--out", tmp_path / "in", "--progress")
    assert "receiving CCTV-exhibit.mp4" in got.err
    assert re.search(r"^receiving 3\.0 MiB of 3\.0 MiB", got.err, re.M), got.err

    silent = terminal.ok(
        prosecutor, "receive", transfer[1], "--out", tmp_path / "in2", "-q", "--progress"
    )
    assert silent.err == ""
    assert "CCTV-exhibit.mp4: " not in silent.out  # no line per file
    assert silent.out.startswith("Received 1 item(s)")
    assert (tmp_path / "in2" / source.name).read_bytes() == source.read_bytes()


def test_verify_of_a_large_copy_shows_its_progress_when_asked(
    terminal: Terminal, tmp_path: Path
) -> None:
    officer = terminal.desks.officer
    urn = new_urn()
    terminal.ok(officer, "case", "create", urn)
    source = _exhibit(tmp_path, 3 * MIB)
    sent = terminal.ok(officer, "send", source, "--case", urn, "--to", CPS, "--json").json()
    bundle = tmp_path / "bundle.zip"
    terminal.ok(officer, "bundle", sent["items"][0]["id"], "--out", bundle)
    log_key = parse_log_key(terminal.desks.app.world.log_key).vkey
    argv = ("verify", bundle, "--log-key", log_key, "--file", source)

    shown = terminal.ok(officer, *argv, "--progress")
    assert "checking CCTV-exhibit.mp4 (3.0 MiB)" in shown.err
    assert re.search(r"^checking 3\.0 MiB of 3\.0 MiB", shown.err, re.M), shown.err
    assert "VERIFIED" in shown.out
    assert terminal.ok(officer, *argv).err == ""  # a pipe: nothing unless asked
    assert terminal.ok(officer, *argv, "--progress", "--quiet").err == ""
