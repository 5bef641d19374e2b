"""A second identical ``custody send`` (the same contents, recipients and case) says which
transfer has them and sends nothing, unless ``--again``; a half-finished one resumes, and a
revoked one may be sent again (issue 16)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from custody.client import http
from support.world import CPS, new_urn

from .conftest import Ran, Terminal


def _sent_id(ran: Ran) -> str:
    found = re.search(r"^Sent transfer (\S+)", ran.out, re.M)
    assert found, ran.out + ran.err
    return found[1]


def _outbox(terminal: Terminal, urn: str) -> list[str]:
    rows = terminal.ok(terminal.desks.officer, "outbox", "--json").json()
    return [t["id"] for t in rows if t["case"] == urn]


@pytest.fixture
def urn(terminal: Terminal) -> str:
    made = new_urn()
    terminal.ok(terminal.desks.officer, "case", "create", made)
    return made


def _files(folder: Path) -> list[Path]:
    folder.mkdir()
    made = [folder / "ABE-interview.mp4", folder / "MG11.txt"]
    made[0].write_bytes(os.urandom(200_000))
    made[1].write_bytes(b"I saw the following...\n")
    return made


def test_the_same_send_twice_makes_one_transfer_and_again_makes_two(
    terminal: Terminal, urn: str, tmp_path: Path
) -> None:
    officer = terminal.desks.officer
    files = _files(tmp_path / "a")
    first = _sent_id(terminal.ok(officer, "send", *files, "--case", urn, "--to", CPS))

    twice = terminal.ok(officer, "send", *files, "--case", urn, "--to", CPS)
    assert twice.out.startswith(f"Already sent: transfer {first} for case {urn}")
    assert "nothing was sent" in twice.out
    assert "--again" in twice.out
    assert _outbox(terminal, urn) == [first]

    # The same contents under other names, in another order, are the same material.
    copies = [tmp_path / "copy-1.mp4", tmp_path / "copy-2.txt"]
    for copy, original in zip(copies, files, strict=True):
        copy.write_bytes(original.read_bytes())
    by_content = terminal.ok(
        officer, "send", copies[1], copies[0], "--case", urn, "--to", CPS, "--json"
    )
    assert by_content.json()["id"] == first
    assert "already sent" in by_content.err
    assert _outbox(terminal, urn) == [first]

    second = _sent_id(terminal.ok(officer, "send", *files, "--case", urn, "--to", CPS, "--again"))
    assert second != first
    assert sorted(_outbox(terminal, urn)) == sorted([first, second])


def test_other_content_recipients_or_a_revoked_transfer_are_sent(
    terminal: Terminal, urn: str, tmp_path: Path
) -> None:
    officer, prosecutor = terminal.desks.officer, terminal.desks.prosecutor
    files = _files(tmp_path / "a")
    first = _sent_id(terminal.ok(officer, "send", *files, "--case", urn, "--to", CPS))

    # The same size, one byte changed: other material.
    changed = tmp_path / "changed.txt"
    changed.write_bytes(files[1].read_bytes().replace(b"saw", b"say"))
    other = _sent_id(terminal.ok(officer, "send", files[0], changed, "--case", urn, "--to", CPS))
    # The same files to one person rather than the organisation: another delivery.
    to_one = _sent_id(
        terminal.ok(officer, "send", *files, "--case", urn, "--to", prosecutor.member.email)
    )
    assert len({first, other, to_one}) == 3

    terminal.ok(officer, "revoke", first, "--reason", "sent too early")
    again = _sent_id(terminal.ok(officer, "send", *files, "--case", urn, "--to", CPS))
    assert again not in {first, other, to_one}


def test_a_half_finished_send_resumes_rather_than_being_refused(
    terminal: Terminal, urn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    officer = terminal.desks.officer
    files = _files(tmp_path / "a")
    tampering = officer.tampering
    monkeypatch.setattr(http, "TRANSPORT", tampering)
    tampering.fail("POST", r"/api/v1/transfers/[0-9a-f-]+/send")
    broken = terminal.run(officer.home, "send", *files, "--case", urn, "--to", CPS)
    assert broken.code == 9, broken.err  # the connection broke before the last step
    tampering.honest()

    resumed = terminal.ok(officer, "send", *files, "--case", urn, "--to", CPS)
    assert "Resuming transfer" in resumed.out
    assert "already sealed" in resumed.out
    transfer = _sent_id(resumed)
    assert _outbox(terminal, urn) == [transfer]
    assert "Already sent" in terminal.ok(officer, "send", *files, "--case", urn, "--to", CPS).out
