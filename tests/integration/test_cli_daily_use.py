"""The CLI as a daily tool (issue 16), through the real ``custody`` against a real server: a send
at a terminal (a pseudo-terminal, as tmux gives) draws progress that advances, the same send
into a pipe prints none; the same send twice makes one transfer and ``--again`` a second; a
listing's ``--json`` names the ids the next command takes."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import time
from pathlib import Path

from support.cli import CUSTODY
from support.server import People, Person, Server, make_file, new_case
from support.world import CPS

MIB = 1024 * 1024


def _at_a_terminal(person: Person, *argv: str, timeout: float = 120) -> tuple[int, str]:
    """``custody ARGV`` with stdout and stderr on a pseudo-terminal: its exit code and all it
    drew (carriage returns and escape sequences included)."""
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [CUSTODY, *argv],
        env={**person.env(), "TERM": "xterm-256color", "COLUMNS": "120"},
        cwd=person.home,
        stdin=subprocess.DEVNULL,
        stdout=secondary,
        stderr=secondary,
    )
    os.close(secondary)
    drawn = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
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
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        os.close(primary)
        if proc.poll() is None:
            proc.kill()
    return code, drawn.decode(errors="replace")


def test_progress_at_a_terminal_and_none_into_a_pipe(
    server: Server, people: People, tmp_path: Path
) -> None:
    officer = people.officer
    urn = new_case(officer)
    video = make_file(tmp_path, "ABE-interview.mp4", 96 * MIB)

    code, drawn = _at_a_terminal(officer, "send", str(video), "--case", urn, "--to", CPS)
    assert code == 0, drawn
    assert "Sent transfer" in drawn
    # The bars: the file, bytes of the total, a speed; redrawn as the bytes go (\r), and the
    # amount done grows from one redraw to the next.
    assert "ABE-interview.mp4" in drawn
    done = [float(x) for x in re.findall(r"(\d+\.\d)/96\.0 MiB", drawn)]
    assert len(done) >= 2, drawn
    assert done == sorted(done)
    assert done[-1] == 96.0
    assert done[0] < 96.0
    assert re.search(r"\d+(\.\d+)? [KMG]iB/s", drawn)

    piped = officer.ok("send", str(video), "--case", urn, "--to", CPS, "--again")
    assert "MiB/s" not in piped.stderr + piped.stdout
    assert "\r" not in piped.stderr + piped.stdout
    assert piped.stderr == ""


def test_the_same_send_twice_is_one_transfer_and_again_is_two(
    server: Server, people: People, tmp_path: Path
) -> None:
    officer, prosecutor = people.officer, people.prosecutor
    urn = new_case(officer)
    files = [
        make_file(tmp_path / "a", "CCTV.mp4", 2 * MIB),
        make_file(tmp_path / "a", "MG11.txt", content=b"I saw the following\n"),
    ]
    argv = ["send", *map(str, files), "--case", urn, "--to", CPS]
    first = re.search(r"Sent transfer (\S+)", officer.ok(*argv).stdout)
    assert first
    twice = officer.ok(*argv).stdout
    assert f"Already sent: transfer {first[1]}" in twice

    def outbox() -> list[str]:
        rows = officer.ok("outbox", "--json").stdout
        return re.findall(rf'"id": "([0-9a-f-]{{36}})",\s*"case": "{urn}"', rows)

    assert outbox() == [first[1]]
    again = re.search(r"Sent transfer (\S+)", officer.ok(*argv, "--again").stdout)
    assert again
    assert sorted(outbox()) == sorted([first[1], again[1]])

    # The prosecutor's inbox in JSON names the transfer and its items: receive takes them.
    inbox = prosecutor.ok("inbox", "--json").stdout
    assert first[1] in inbox
    received = prosecutor.ok("receive", first[1], "--out", str(tmp_path / "in"), "--json").stdout
    assert (tmp_path / "in" / "CCTV.mp4").read_bytes() == files[0].read_bytes()
    assert f'"transfer": "{first[1]}"' in received
