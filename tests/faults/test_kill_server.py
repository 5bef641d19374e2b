"""``kill -9`` of a real ``custody serve`` at random moments (issue 15's fault suite).

1. During uploads and receives: each node is killed at a random moment once a ``custody
   send`` of a large file is uploading to it (up to 0.15 s after the store holds its first
   bytes) or a ``custody receive`` is saving from it (up to 0.2 s after its first plaintext
   is written: mid-download, or as it checks and publishes), a new node is started on
   the same address and database, and the same command run again completes: every received
   file equals the original, no item is published twice, no upload is left half-published.
2. During ledger appends from concurrent writers: a node is killed while several people open
   cases at once; afterwards ``custody ledger verify`` passes (no gap, no broken chain), and
   every case a client was told was opened has its ``case:created`` entry (nothing
   acknowledged is lost).

The rounds are bounded: ``CUSTODY_FAULT_ROUNDS`` rounds of a send and a receive on each
stack, and a fifth as many (at least one) of concurrent appends (default 1: the slice CI
runs; in full, by hand, ``CUSTODY_FAULT_ROUNDS=25 pytest -m faults -s``: 100 uploads and
receives killed across the two stacks; ``CUSTODY_FAULT_MIB=2048`` for 2 GiB files). The
counts are printed at the end (``-s``).
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from support.cli import CUSTODY, ok
from support.nodes import Node, node
from support.server import People, Person, Server, item_ids, new_case
from support.world import CPS, new_urn

ROUNDS = int(os.environ.get("CUSTODY_FAULT_ROUNDS", "1"))
# pytest-timeout's 300 s is per test: a full run's rounds take 10-20 s each.
# Both stacks: SQLite and blob files, PostgreSQL and Swift's S3 (the national service's).
pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.timeout(max(300, 40 * ROUNDS)),
              pytest.mark.parametrize("server", ["sqlite", pytest.param(
                  "swift", marks=[pytest.mark.postgres, pytest.mark.swift])], indirect=True)]
APPEND_ROUNDS = max(1, ROUNDS // 5)  # each starts three writers and a node: 20-30 s
SIZE_MIB = int(os.environ.get("CUSTODY_FAULT_MIB", "48"))  # 2048 by hand: a 2 GiB upload
MIB = 1 << 20
RNG = random.Random(int(os.environ.get("CUSTODY_FAULT_SEED", "20261130")))  # noqa: S311


def _file(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    block = os.urandom(MIB)
    with path.open("wb") as f:
        for i in range(size // MIB):
            f.write(i.to_bytes(8, "big") + block[8:])
    return path


def _kill_while(node: Node, argv: list[str], person: Person, log: Path,
                begun: Callable[[], bool], within: tuple[float, float]) -> bool:
    """Run ``custody ARGV``, and once its bytes are moving (``begun``) kill the node at a
    random moment ``within`` seconds later; whether the command had not finished by then
    (a real interruption)."""
    with log.open("wb") as out:
        proc = subprocess.Popen([CUSTODY, *argv], env=person.env(), cwd=person.home,
                                stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while proc.poll() is None and not begun() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(RNG.uniform(*within))
    interrupted = proc.poll() is None
    node.kill()
    proc.wait(timeout=120)
    node.start()
    return interrupted


def _uploading(server: Server) -> Callable[[], bool]:
    """Whether the store holds bytes of an upload it did not hold before."""
    before = set(server.stored.staged())
    return lambda: any(held and upload not in before
                       for upload, held in server.stored.staged().items())


def _saving(out: Path) -> Callable[[], bool]:
    """Whether ``custody receive`` has written plaintext into its temporary file in ``out``."""
    return lambda: any(p.stat().st_size for p in out.glob(".custody-*.tmp") if p.exists())


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def test_kill_9_during_uploads_and_receives_loses_nothing(
    server: Server, people: People, tmp_path: Path
) -> None:
    counts = {"rounds": 0, "send interrupted": 0, "receive interrupted": 0, "verified": 0}
    with node(server, tmp_path, start=True) as n:
        officer = people.officer.at_another_machine(tmp_path / "officer")
        prosecutor = people.prosecutor.at_another_machine(tmp_path / "prosecutor")
        for person in (officer, prosecutor):
            person.login(url=n.url)
        for r in range(ROUNDS):
            urn = new_case(officer)
            source = _file(tmp_path / f"round-{r}" / "interview.mp4", SIZE_MIB * MIB)
            send = ["send", str(source), "--case", urn, "--to", CPS]
            counts["send interrupted"] += _kill_while(
                n, send, officer, tmp_path / f"send-{r}.log", _uploading(server), (0.0, 0.15))
            said = ok(officer.run(*send)).stdout  # again: resumes, or says it was sent
            match = re.search(r"(?:Sent|Already sent:) transfer ([0-9a-f-]{36})", said)
            assert match, said
            tid = match[1]
            assert len(item_ids(officer, tid)) == 1
            out = tmp_path / f"received-{r}"
            counts["receive interrupted"] += _kill_while(
                n, ["receive", tid, "--out", str(out)], prosecutor, tmp_path / f"recv-{r}.log",
                _saving(out), (0.0, 0.2))
            prosecutor.ok("receive", tid, "--out", str(out))
            assert _sha256(out / "interview.mp4") == _sha256(source)
            counts["verified"] += 1
            counts["rounds"] += 1
    # Nothing published twice or half: one blob per item of these transfers, no stray upload.
    published = server.query("SELECT count(*) FROM items WHERE blob_key IS NOT NULL "
                             "AND state IN ('uploaded', 'sealed')")[0][0]
    assert server.stored.count() >= published
    assert server.query("SELECT count(*) FROM items i JOIN uploads u ON u.item_id = i.id "
                        "WHERE i.state = 'sealed' AND u.finished_at IS NULL")[0][0] == 0
    verify = ok(server.operator("ledger", "verify")).stdout
    assert "Ledger OK" in verify
    print(f"\nfaults: {n.kills} kill -9 of the server; {counts}; bytes lost 0; duplicates 0")


def test_kill_9_during_concurrent_appends_keeps_every_acknowledged_entry(
    server: Server, people: People, tmp_path: Path
) -> None:
    opened: list[str] = []
    with node(server, tmp_path, start=True) as n:
        writers = [p.at_another_machine(tmp_path / k) for k, p in
                   (("officer", people.officer), ("prosecutor", people.prosecutor),
                    ("prosecutor2", people.prosecutor2))]
        for writer in writers:
            writer.login(url=n.url)

        def open_cases(who: Person) -> list[str]:
            done = []
            for _ in range(6):
                urn = new_urn()
                if who.run("case", "create", urn, real=True).returncode == 0:  # threads
                    done.append(urn)  # the client was told it was opened
            return done

        for _ in range(APPEND_ROUNDS):
            with ThreadPoolExecutor(len(writers)) as pool:
                futures = [pool.submit(open_cases, w) for w in writers]
                time.sleep(RNG.uniform(0.5, 2.0))
                n.kill()
                n.start()
                for f in futures:
                    opened += f.result()
    assert "Ledger OK" in ok(server.operator("ledger", "verify")).stdout
    logged = {row[0] for row in server.query("SELECT urn FROM cases")}
    assert set(opened) <= logged, "a case the client was told was opened is gone"
    entries = server.query("SELECT count(*) FROM ledger_entries WHERE type = 'case:created'")
    assert entries[0][0] >= len(opened)
    print(f"\nfaults: {n.kills} kill -9 during appends; {len(opened)} acknowledged cases, "
          "all logged; ledger verifies")


def _kill_halfway(n: Node, server: Server, before: set[str], start: int,
                  proc: subprocess.Popen[bytes], log: Path) -> tuple[int, int]:
    """Kill the node once the store holds half of what the new upload lacked at ``start``
    bytes; the bytes the store kept, and the upload's length."""
    deadline, lengths = time.monotonic() + 600, {}
    while time.monotonic() < deadline:
        for upload, held in server.stored.staged().items():
            if upload in before:
                continue
            if upload not in lengths:
                lengths[upload] = int(server.query(
                    "SELECT length FROM uploads WHERE id = :u", u=upload)[0][0])
            if held >= start + (lengths[upload] - start) // 2:
                n.kill()
                kept = server.stored.staged().get(upload)
                assert kept is not None, "the upload finished before the kill: use a larger file"
                return kept, lengths[upload]
        assert proc.poll() is None, f"the send ended first:\n{log.read_text(errors='replace')}"
        time.sleep(0.01)
    pytest.fail(f"the upload did not reach half way:\n{log.read_text(errors='replace')}")


def test_kill_9_twice_in_one_upload_then_send_again(
    server: Server, people: People, tmp_path: Path
) -> None:
    """The server killed twice in the middle of one upload (``CUSTODY_FAULT_MIB=2048`` by
    hand: 2 GiB), at half of it and at half of the rest, then ``custody send`` run again:
    it resumes from what the store kept, and the prosecutor receives the file sent."""
    size = max(SIZE_MIB, 128) * MIB  # room between the kills however fast the upload
    with node(server, tmp_path, start=True) as n:
        officer = people.officer.at_another_machine(tmp_path / "officer")
        prosecutor = people.prosecutor.at_another_machine(tmp_path / "prosecutor")
        for person in (officer, prosecutor):
            person.login(url=n.url)
        source = _file(tmp_path / "large" / "interview.mp4", size)
        send = ["send", str(source), "--case", new_case(officer), "--to", CPS]
        before, kept = set(server.stored.staged()), [0]
        for run in (1, 2):
            log = tmp_path / f"send-{run}.log"
            with log.open("wb") as out:
                proc = subprocess.Popen([CUSTODY, *send], env=officer.env(), cwd=officer.home,
                                        stdout=out, stderr=subprocess.STDOUT)
            held, length = _kill_halfway(n, server, before, kept[-1], proc, log)
            assert proc.wait(timeout=120) != 0, log.read_text(errors="replace")
            kept.append(held)
            n.start()
            if run == 2:  # the second run resumed what the first kept, not from nothing
                said = log.read_text(errors="replace")
                assert "resuming upload at" in said, said
        assert 0 < kept[1] < kept[2] < length  # what each kill left was kept, then grown
        said = ok(officer.run(*send)).stdout
        assert "resuming upload at" in said, said
        tid = re.search(r"Sent transfer ([0-9a-f-]{36})", said)
        assert tid, said
        (item,) = item_ids(officer, tid[1])
        assert server.query("SELECT count(*) FROM uploads WHERE item_id = :i", i=item)[0][0] == 1
        out = tmp_path / "received"
        prosecutor.ok("receive", tid[1], "--out", str(out))
        assert _sha256(out / "interview.mp4") == _sha256(source)
    assert "Ledger OK" in ok(server.operator("ledger", "verify")).stdout
    print(f"\nfaults: 2 kill -9 in one upload of {size >> 20} MiB (kept {kept[1]:,} then "
          f"{kept[2]:,} of {length:,} bytes); sent again, received byte for byte; bytes lost 0")
