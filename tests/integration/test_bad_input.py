"""Wrong input and hostile conditions: each a clear ``error:``, a non-zero exit, no traceback,
and nothing changed on the server (row counts, ledger size, staged uploads and blobs compared).

Disk full on receive: the destination is a 1 MiB tmpfs (``mount -t tmpfs``, we run as root in the
test machines). Where mounting is not permitted the test falls back to a file-size limit
(``RLIMIT_FSIZE`` with SIGXFSZ ignored, via a ``python -c`` wrapper around
``custody.cli.main.main``); that makes writes fail with EFBIG rather than ENOSPC, so the
fallback checks for a clear write error instead of the words "disk is full".
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.cli import assert_fails, free_port
from support.server import People, Server, item_ids, make_file, new_case, new_person
from support.world import CPS, POLICE

NOT_IT = "not the secret at all"


@pytest.fixture
def unchanged(server: Server) -> Iterator[None]:
    """The test's failed commands leave the server exactly as they found it."""
    before = server.snapshot()
    yield
    assert server.snapshot() == before


@pytest.fixture
def evidence(tmp_path: Path) -> Path:
    return make_file(tmp_path / "files", "exhibit-JB1.txt", content=b"exhibit JB/1\n")


@pytest.fixture(scope="module")
def urn(people: People) -> str:
    return new_case(people.officer)


def test_unknown_recipient(people: People, evidence: Path, urn: str, unchanged: None) -> None:
    assert_fails(people.officer.run("send", str(evidence), "--case", urn, "--to",
                                    "nobody@cps.example"), "no recipient", "nobody@cps.example",
                 code=5)
    assert_fails(people.officer.run("send", str(evidence), "--case", urn, "--to",
                                    "No Such Unit"), "no recipient", "No Such Unit", code=5)


def test_unknown_case(people: People, evidence: Path, unchanged: None) -> None:
    assert_fails(people.officer.run("send", str(evidence), "--case", "01ZZ9999999", "--to", CPS),
                 "no case 01ZZ9999999", "custody case create", code=5)


def test_malformed_urn(people: People, evidence: Path, unchanged: None) -> None:
    for bad in ("not-a-urn", "47XX12345", "47XX1234567X", ""):
        assert_fails(people.officer.run("case", "create", bad), "is not a case URN", code=2)
    assert_fails(people.officer.run("send", str(evidence), "--case", "47-XX-1234567", "--to",
                                    CPS), "is not a case URN", code=2)


def test_missing_file_sends_nothing(server: Server, tmp_path: Path) -> None:
    # A person who never sent anything, so "nothing was created" is plain to see.
    sender = new_person(server, tmp_path / "home", "missing-file",
                        f"dc.{uuid.uuid4().hex[:8]}@tvp.police.example", POLICE, "officer")
    # The user and key registration above are the only changes this test makes.
    baseline = server.snapshot()
    urn = new_case(sender)
    after_case = server.snapshot()
    present = make_file(tmp_path, "present.txt", content=b"x")
    missing = tmp_path / "no-such-exhibit.mp4"
    assert_fails(sender.run("send", str(present), str(missing), "--case", urn, "--to", CPS),
                 "no-such-exhibit.mp4", "no such file", "nothing was sent", code=10)
    assert server.snapshot() == after_case
    assert "Your outbox is empty." in sender.ok("outbox").stdout
    assert not (sender.home / "sending").exists()
    assert after_case["cases"] == baseline["cases"] + 1


def test_a_folder_with_nothing_or_a_link_in_it(people: People, urn: str, tmp_path: Path,
                                               unchanged: None) -> None:
    """A folder is sent whole (issue 16), but not an empty one, and not one holding a
    symbolic link: what it points at is not in the folder."""
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_fails(people.officer.run("send", str(empty), "--case", urn, "--to", CPS),
                 "has no files in it", "nothing was sent", code=10)
    linked = tmp_path / "linked"
    (linked / "sub").mkdir(parents=True)
    (linked / "sub" / "statement.txt").write_bytes(b"x")
    (linked / "sub" / "passwd").symlink_to("/etc/passwd")
    assert_fails(people.officer.run("send", str(linked), "--case", urn, "--to", CPS),
                 "passwd is a symbolic link", "nothing was sent", code=10)


def test_wrong_passphrase(people: People, evidence: Path, urn: str, tmp_path: Path,
                          unchanged: None) -> None:
    officer = people.officer
    wrong = officer.env(CUSTODY_PASSPHRASE=NOT_IT)
    assert_fails(officer.run("send", str(evidence), "--case", urn, "--to", CPS, env=wrong),
                 "passphrase does not open", code=11)  # not 3: that is "log in again"
    prosecutor = people.prosecutor
    assert_fails(prosecutor.run("receive", str(uuid.uuid4()), "--out", str(tmp_path / "o"),
                                env=prosecutor.env(CUSTODY_PASSPHRASE=NOT_IT)),
                 "passphrase does not open", code=11)  # not 3: that is "log in again"
    # No passphrase at all, and no terminal to ask on.
    none = officer.env()
    del none["CUSTODY_PASSPHRASE"]
    assert_fails(officer.run("send", str(evidence), "--case", urn, "--to", CPS, env=none),
                 "passphrase", "CUSTODY_PASSPHRASE", code=2)


def test_wrong_password_at_login(people: People, unchanged: None) -> None:
    officer = people.officer
    session = (officer.home / "session.json").read_bytes()
    bad = officer.env(CUSTODY_PASSWORD=NOT_IT)
    assert_fails(officer.run("login", "--server", officer.server.url, "--email", officer.email,
                             env=bad), "e-mail address or password is wrong", code=3)
    # Unknown address: the same message (no oracle for who has an account).
    assert_fails(officer.run("login", "--server", officer.server.url, "--email",
                             "nobody@tvp.police.example"),
                 "e-mail address or password is wrong", code=3)
    assert (officer.home / "session.json").read_bytes() == session
    officer.ok("whoami")


def test_server_down(people: People, tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    officer = people.officer
    assert_fails(officer.run("login", "--server", closed, "--email", officer.email, real=True),
                 "cannot reach the custody server", closed, code=9)
    # A client whose saved session points at a server that is not running.
    home = tmp_path / "home"
    home.mkdir()
    session = officer.session
    session["server"] = closed
    (home / "session.json").write_text(json.dumps(session))
    env = officer.env(CUSTODY_HOME=str(home))
    for command in (["inbox"], ["outbox"], ["show", str(uuid.uuid4())]):
        assert_fails(officer.run(*command, env=env, real=command == ["inbox"]),
                     "cannot reach the custody server", closed, code=9)


def test_not_logged_in(tmp_path: Path, people: People) -> None:
    env = people.officer.env(CUSTODY_HOME=str(tmp_path / "nobody"))
    assert_fails(people.officer.run("inbox", env=env), "not logged in", "custody login", code=3)


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[tuple[Path, bool]]:
    """A 1 MiB filesystem to receive into: (folder, True); (folder, False) if mount is refused."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)],
                             capture_output=True, check=False).returncode == 0
    try:
        yield folder, mounted
    finally:
        if mounted:
            subprocess.run(["umount", str(folder)], check=True)


_LIMITED = (
    "import resource, signal, sys\n"
    "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
    "resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))\n"
    "from custody.cli.main import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def test_disk_full_on_receive(people: People, urn: str, tiny_disk: tuple[Path, bool],
                              tmp_path: Path) -> None:
    officer, prosecutor = people.officer, people.prosecutor
    big = make_file(tmp_path / "files", "cctv-export.mp4", 3 * 1024 * 1024)
    transfer_id = officer.send([big], urn, CPS)
    out, mounted = tiny_disk
    if mounted:
        failed = prosecutor.run("receive", transfer_id, "--out", str(out))
        assert_fails(failed, "disk", "is full", str(out), code=10)
    else:
        done = subprocess.run([sys.executable, "-c", _LIMITED, "receive", transfer_id, "--out",
                               str(out)], env=prosecutor.env(), capture_output=True, text=True,
                              timeout=120, check=False)
        assert_fails(done, "cannot write", code=10)
    assert list(out.iterdir()) == [], "no partial plaintext may remain"
    item = item_ids(prosecutor, transfer_id)[0]
    assert not any(r["type"] == "item:received" for r in prosecutor.history(item))
    # With space, the same command finishes (from the ciphertext already downloaded).
    roomy = tmp_path / "roomy"
    prosecutor.ok("receive", transfer_id, "--out", str(roomy))
    assert (roomy / big.name).read_bytes() == big.read_bytes()


def test_ack_unknown_transfer(people: People, unchanged: None) -> None:
    unknown = str(uuid.uuid4())
    assert_fails(people.prosecutor.run("ack", unknown), f"no transfer {unknown}", code=5)
    assert_fails(people.prosecutor.run("ack", "not-an-id"), "no transfer", code=5)


def test_acknowledging_twice_is_a_conflict(server: Server, people: People, urn: str,
                                           evidence: Path) -> None:
    transfer_id = people.officer.send([evidence], urn, CPS)
    people.prosecutor.ok("ack", transfer_id, "--without-receipt")
    before = server.snapshot()
    assert_fails(people.prosecutor.run("ack", transfer_id), "already acknowledged", code=6)
    assert_fails(people.prosecutor2.run("ack", transfer_id), "already acknowledged", code=6)
    # The sender cannot acknowledge their own transfer.
    assert_fails(people.officer.run("ack", transfer_id), "only a recipient", code=4)
    assert server.snapshot() == before
    assert people.officer.transfer(transfer_id)["acknowledged_at"] is not None


def test_sending_to_yourself(people: People, evidence: Path, urn: str, unchanged: None) -> None:
    officer = people.officer
    assert_fails(officer.run("send", str(evidence), "--case", urn, "--to", officer.email),
                 "cannot send a transfer to yourself", code=2)
    assert_fails(officer.run("send", str(evidence), "--case", urn, "--to", CPS, "--to",
                             officer.email), "one organisation", code=2)


@pytest.mark.parametrize(("name", "words"), [
    ("a\nb.txt", ["control character", "U+000A"]),
    ("tab\there.txt", ["control character", "U+0009"]),
    ("back\\slash.txt", ["may not contain", "/"]),
])
def test_unsafe_file_name_is_refused(people: People, urn: str, tmp_path: Path, name: str,
                                     words: list[str], unchanged: None) -> None:
    path = make_file(tmp_path, name, content=b"x")
    assert_fails(people.officer.run("send", str(path), "--case", urn, "--to", CPS), *words,
                 code=2)


def test_unusable_deadline(people: People, evidence: Path, urn: str, unchanged: None) -> None:
    for bad in ("tomorrow", "0h", "-1d", "91d"):
        assert_fails(people.officer.run("send", str(evidence), "--case", urn, "--to", CPS,
                                        "--ack-within", bad), code=2)


def test_absurd_deadline_is_a_clear_error(people: People, evidence: Path, urn: str,
                                          unchanged: None) -> None:
    assert_fails(people.officer.run("send", str(evidence), "--case", urn, "--to", CPS,
                                    "--ack-within", "99999999999d"), "90 days", code=2)


def test_receive_as_sender_of_unknown_and_unread(people: People, tmp_path: Path,
                                                 unchanged: None) -> None:
    unknown = str(uuid.uuid4())
    assert_fails(people.prosecutor.run("receive", unknown, "--out", str(tmp_path / "o")),
                 f"no item or transfer {unknown}", code=5)
    assert not (tmp_path / "o").exists()


def test_client_secrets_are_private(people: People) -> None:
    for person in (people.officer, people.prosecutor):
        for path in (person.key_file, person.home / "session.json"):
            assert os.stat(path).st_mode & 0o077 == 0, path
