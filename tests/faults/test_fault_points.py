"""The server killed at the worst moment of each write (issue 15: atomicity at every write).

Each test arms one fault point (``custody.faults``: ``CUSTODY_FAULT_POINTS``, development mode
only) in a node of the shared SQLite server, makes the real CLI do the write, sees the node
kill itself there with SIGKILL, starts it again without the point, and checks what it finds:
no half blob visible, an upload that resumes and arrives with the right SHA-256, a ledger that
verifies with nothing recorded that did not happen, and the same command run again
completing. docs/operations.md, "Failure modes", names each test.
"""

from __future__ import annotations

import hashlib
import re
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.cli import base_env, ok, run_custody
from support.nodes import Node, node
from support.server import People, Person, Server, item_ids, make_file, new_case
from support.world import CPS, new_urn

pytestmark = [pytest.mark.faults, pytest.mark.slow,
              pytest.mark.parametrize("server", ["sqlite"], indirect=True)]
MIB = 1 << 20


def _at(node: Node, person: Person, home: Path) -> Person:
    moved = person.at_another_machine(home)
    moved.login(url=node.url)
    return moved


def _sent(said: str) -> str:
    match = re.search(r"(?:Sent|Already sent:) transfer ([0-9a-f-]{36})", said)
    assert match, said
    return match[1]


def _entries(server: Server, item: str, type_: str) -> int:
    return int(server.query("SELECT count(*) FROM ledger_entries WHERE item_id = :item "
                            "AND type = :type", item=item, type=type_)[0][0])


def _last_upload(server: Server) -> tuple[str, str, object, int]:
    """The item, id, finish time and length of the upload made last."""
    item, upload, finished, length = server.query(
        "SELECT item_id, id, finished_at, length FROM uploads ORDER BY created_at DESC LIMIT 1")[0]
    return item, upload, finished, int(length)


def _ledger_verifies(server: Server) -> None:
    assert "Ledger OK" in ok(server.operator("ledger", "verify")).stdout


def _source(tmp_path: Path, size: int) -> Path:
    return make_file(tmp_path / "files", "interview.mp4", size)


@dataclass
class Desks:
    """One node of the shared SQLite server on a fixed address, and two people logged in to
    it once for the module (a login takes a fresh TOTP step)."""

    node: Node
    officer: Person
    prosecutor: Person


@pytest.fixture(scope="module")
def desks(server: Server, people: People,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desks]:
    work = tmp_path_factory.mktemp("fault-points")
    with node(server, work) as n:
        n.start()
        made = Desks(n, _at(n, people.officer, work / "officer"),
                     _at(n, people.prosecutor, work / "prosecutor"))
        n.stop()
        yield made


def test_killed_at_each_moment_of_an_upload_resumes_and_publishes_once(
    server: Server, desks: Desks, tmp_path: Path
) -> None:
    """One send, killed at every moment of its upload and seal in turn (its row committed
    with nothing staged, a PATCH written but not answered, the bytes all staged, the blob
    published but not recorded, the seal not committed), each time started
    again with the next point armed; each run of the same command resumes where the last
    one stopped, and the last one completes."""
    n, officer = desks.node, desks.officer
    source = _source(tmp_path, 36 * MIB)  # two PATCHes (the client sends 32 MiB at most)
    n.start("upload.before_staging")
    send = ["send", str(source), "--case", new_case(officer), "--to", CPS]
    assert officer.run(*send).returncode != 0
    n.died_at("upload.before_staging")
    item, upload, finished, length = _last_upload(server)
    assert finished is None
    assert upload not in server.stored.staged()  # the row, and nothing staged for it

    n.start("tus.after_append")
    assert officer.run(*send).returncode != 0
    n.died_at("tus.after_append")
    assert _last_upload(server) == (item, upload, None, length)  # the same upload, staged now
    staged = server.stored.staged()[upload]
    assert 0 < staged < length  # the first PATCH's bytes, kept
    assert not server.stored.exists(item)

    n.start("upload.before_publish")
    assert officer.run(*send).returncode != 0
    n.died_at("upload.before_publish")
    assert _last_upload(server) == (item, upload, None, length)  # the same upload, resumed
    assert server.stored.staged()[upload] == length  # every byte staged, none published
    assert not server.stored.exists(item)

    n.start("upload.after_publish")
    assert officer.run(*send).returncode != 0
    n.died_at("upload.after_publish")
    # Published, but nothing recorded: no hash, no entry, the upload not finished.
    assert server.stored.exists(item)
    assert upload not in server.stored.staged()
    assert _last_upload(server) == (item, upload, None, length)
    assert _entries(server, item, "item:uploaded") == 0

    n.start("seal.before_commit")
    assert officer.run(*send).returncode != 0
    n.died_at("seal.before_commit")
    state, recorded = server.query(
        "SELECT state, ciphertext_sha256 FROM items WHERE id = :item", item=item)[0]
    assert state == "uploaded"  # the blob's publication recorded; the seal is not
    assert recorded == hashlib.sha256(server.stored.read(item)).hexdigest()
    assert _entries(server, item, "item:uploaded") == 1
    assert _entries(server, item, "item:sealed") == 0
    assert server.query("SELECT count(*) FROM key_wraps WHERE item_id = :item",
                        item=item)[0][0] == 0

    n.start()  # the operator starts it again, without fault points
    try:
        tid = _sent(officer.ok(*send).stdout)
        assert item_ids(officer, tid) == [item]
        desks.prosecutor.ok("receive", tid, "--out", str(tmp_path / "in"))
    finally:
        n.stop()
    assert (tmp_path / "in" / "interview.mp4").read_bytes() == source.read_bytes()
    assert _entries(server, item, "item:uploaded") == 1  # published once
    assert _entries(server, item, "item:sealed") == 1  # sealed once
    assert server.stored.staged().get(upload) is None
    _ledger_verifies(server)


def test_killed_before_an_append_or_a_checkpoint_commits_records_nothing(
    server: Server, desks: Desks
) -> None:
    n, officer = desks.node, desks.officer
    n.start("ledger.appended")
    officer.ok("checkpoint")  # a read: this machine remembers the tree it verified
    urn = new_urn()
    assert officer.run("case", "create", urn).returncode != 0  # the client saw a failure
    n.died_at("ledger.appended")
    assert server.query("SELECT count(*) FROM cases WHERE urn = :urn", urn=urn)[0][0] == 0
    _ledger_verifies(server)  # no gap, no half entry

    # The shared server signs checkpoints too: once it has signed the whole log, this node,
    # looking far more often, is the one that signs the case it opens.
    _wait_checkpointed(server)
    n.start("checkpoint.signed", CUSTODY_CHECKPOINT_INTERVAL_SECONDS="0.1")
    officer.ok("case", "create", urn)  # committed: the client was told it was opened
    n.died_at("checkpoint.signed")
    _ledger_verifies(server)

    n.start()
    try:
        (case,) = server.query("SELECT id FROM cases WHERE urn = :urn", urn=urn)[0]
        # What the client sees: a checkpoint signed by the pinned key, consistent with the
        # tree it verified before the kills, and covering the case it was told was opened.
        said = _eventually_checkpoint(officer)
    finally:
        n.stop()
    assert "signed by the pinned key" in said
    bodies = server.query("SELECT body FROM ledger_entries WHERE type = 'case:created'")
    assert sum(case.encode() in bytes(body) for (body,) in bodies) == 1  # logged once
    _ledger_verifies(server)


def _wait_checkpointed(server: Server) -> None:
    """Until the newest checkpoint covers every entry of the log."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        size, signed = server.query("SELECT (SELECT count(*) FROM ledger_entries), "
                                    "(SELECT max(size) FROM ledger_checkpoints)")[0]
        if size == signed:
            return
        time.sleep(0.2)
    pytest.fail("the shared server signed no checkpoint of its whole log in 20 s")


def _eventually_checkpoint(person: Person) -> str:
    """``custody checkpoint``, once the restarted node has signed one (every 2 s)."""
    deadline = time.monotonic() + 20
    while True:
        done = person.run("checkpoint")
        if done.returncode == 0 or time.monotonic() > deadline:
            return ok(done).stdout
        time.sleep(0.5)


def test_killed_between_a_shred_and_its_blob_delete_the_sweep_deletes_it(
    server: Server, people: People, tmp_path: Path
) -> None:
    officer = people.officer
    source = _source(tmp_path, MIB)
    tid = officer.send([source], new_case(officer), CPS)
    (item,) = item_ids(officer, tid)
    env = base_env(CUSTODY_DATABASE_URL=server.db_url, HOME=str(server.work),
                   CUSTODY_MODE="development", CUSTODY_FAULT_POINTS="shred.before_blob_delete",
                   **server.store_env)
    shred = run_custody(["admin", "shred", item, "--reason", "court order", "--data-dir",
                         str(server.data_dir)], env, cwd=server.work, real=True)
    assert shred.returncode == -signal.SIGKILL, shred.stderr
    state, key = server.query("SELECT state, blob_key FROM items WHERE id = :item",
                              item=item)[0]
    assert (state, key) == ("shredded", f"items/{item}")  # shredded, its blob still there
    assert _entries(server, item, "item:shredded") == 1
    assert server.stored.exists(item)

    with node(server, tmp_path) as n:
        n.start(CUSTODY_WATCHER_INTERVAL_SECONDS="0.5")  # the watcher's sweep retries it
        deadline = time.monotonic() + 30
        while server.stored.exists(item) and time.monotonic() < deadline:
            time.sleep(0.2)
    assert not server.stored.exists(item)
    assert server.query("SELECT blob_key FROM items WHERE id = :item", item=item)[0][0] is None
    assert _entries(server, item, "item:shredded") == 1  # shredded once
    _ledger_verifies(server)
