"""``custody send - --name NAME``: standard input sent as a file of that name, received as it
was piped in, sent once like any file, and nothing of it left behind (issue 16)."""

from __future__ import annotations

import os
from pathlib import Path

from support.world import CPS, new_urn

from .conftest import Terminal


def test_standard_input_is_sent_as_the_named_file(terminal: Terminal, tmp_path: Path) -> None:
    officer, prosecutor = terminal.desks.officer, terminal.desks.prosecutor
    urn = new_urn()
    terminal.ok(officer, "case", "create", urn)
    piped = os.urandom(300_000)
    argv = ("send", "-", "--name", "body-worn camera.mp4", "--case", urn, "--to", CPS, "--json")
    sent = terminal.ok(officer, *argv, stdin=piped).json()
    assert not list((officer.home / "spool").iterdir())  # nothing of it kept once sent

    [got] = terminal.ok(
        prosecutor, "receive", sent["id"], "--out", tmp_path / "in", "--json"
    ).json()
    assert got["file_name"] == "body-worn camera.mp4"
    assert Path(got["path"]).read_bytes() == piped

    again = terminal.ok(officer, *argv, stdin=piped)
    assert again.json()["id"] == sent["id"]
    assert "already sent" in again.err
    assert not list((officer.home / "spool").iterdir())


def test_standard_input_needs_a_name_and_a_name_needs_it(
    terminal: Terminal, tmp_path: Path
) -> None:
    officer = terminal.desks.officer
    urn = new_urn()
    unnamed = terminal.run(officer.home, "send", "-", "--case", urn, "--to", CPS, stdin=b"x")
    assert unnamed.code == 2
    assert "--name" in unnamed.err
    exhibit = tmp_path / "exhibit.txt"
    exhibit.write_bytes(b"exhibit")
    stray = terminal.run(
        officer.home, "send", exhibit, "--name", "x.txt", "--case", urn, "--to", CPS
    )
    assert stray.code == 2
    assert "'-'" in stray.err
    unsafe = terminal.run(
        officer.home, "send", "-", "--name", "../x", "--case", urn, "--to", CPS, stdin=b"x"
    )
    assert unsafe.code == 2
    assert "'/'" in unsafe.err
