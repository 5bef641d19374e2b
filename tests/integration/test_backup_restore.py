"""Backup while the server runs, restore into a new data folder, serve it: an item sent before
the backup is received byte for byte by a machine as it was at the backup, the restored ledger
verifies and every ciphertext scrubs clean; a machine that verified the larger tree since
refuses the restored server as rolled back; a changed backup is refused."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pytest

from support.cli import assert_fails, base_env, ok, run_custody
from support.server import People, Person, Server, item_ids, make_file, new_case, serving


def _verified_size(person: Person) -> int:
    said = person.ok("checkpoint").stdout
    match = re.search(r": (\d+) entries, signed by the pinned key", said)
    assert match, said
    return int(match[1])


@pytest.mark.parametrize("server", ["sqlite"], indirect=True)
def test_backup_restore_serve_and_receive(server: Server, people: People, tmp_path: Path) -> None:
    officer, prosecutor = people.officer, people.prosecutor
    urn = new_case(officer)
    before = make_file(tmp_path / "out", "interview.mp4", 200_000)
    tid = officer.send([before], urn)
    prosecutor.ok("checkpoint")
    at_backup = prosecutor.at_another_machine(tmp_path / "prosecutor-at-backup")

    backup = tmp_path / "backup"
    made = server.admin("backup", "--out", str(backup)).stdout
    assert f"Backed up to {backup}" in made
    manifest = json.loads((backup / "backup.json").read_text())
    assert f"blobs/objects/items/{item_ids(officer, tid)[0]}" in manifest["files"]
    assert {"custody.db", "secrets/log-signing.key", "secrets/server.key"} <= set(
        manifest["files"])
    assert all(p.stat().st_mode & 0o077 == 0 for p in backup.rglob("*") if p.is_file())

    # Life goes on after the backup: another transfer, and the prosecutor verifies it.
    officer.send([make_file(tmp_path / "out2", "later.pdf", 5_000)], urn)
    prosecutor.ok("receive", tid, "--out", str(tmp_path / "first-copy"))
    deadline = time.monotonic() + 30  # until a checkpoint covers entries made after it
    while _verified_size(prosecutor) <= manifest["log_size"]:
        assert time.monotonic() < deadline
        time.sleep(0.5)

    # A changed byte in the backup: refused before anything is written.
    damaged = tmp_path / "damaged"
    shutil.copytree(backup, damaged)
    blob = next((damaged / "blobs" / "objects" / "items").iterdir())
    blob.write_bytes(b"x" + blob.read_bytes()[1:])
    env = base_env(HOME=str(tmp_path))
    assert_fails(run_custody(["admin", "restore", str(damaged), "--data-dir",
                              str(tmp_path / "never")], env), "missing or changed", code=8)
    assert not (tmp_path / "never").exists()

    restored = tmp_path / "restored"
    said = ok(run_custody(["admin", "restore", str(backup), "--data-dir", str(restored)],
                          env)).stdout
    assert "ledger OK" in said
    assert "all as recorded" in said
    assert_fails(run_custody(["admin", "restore", str(backup), "--data-dir", str(restored)],
                             env), "not empty")

    node_env = {k: v for k, v in server.env.items()
                if k not in ("CUSTODY_DATABASE_URL", "CUSTODY_DATA_DIR", "CUSTODY_BLOB_URL")}
    with serving(restored, base_env(**node_env, CUSTODY_DATA_DIR=str(restored)),
                 cwd=tmp_path) as node:
        at_backup.login(url=node.url)
        at_backup.ok("receive", tid, "--out", str(tmp_path / "after-restore"))
        assert (tmp_path / "after-restore" / "interview.mp4").read_bytes() == before.read_bytes()
        # The machine that saw the tree grow after the backup: the restored log is a rollback.
        refused = prosecutor.run("login", "--server", node.url, "--email", prosecutor.email,
                                 env=prosecutor.env(CUSTODY_TOTP_CODE=prosecutor.code()))
        assert_fails(refused, "this server's ledger is not the one everybody sees")
