"""What someone holding the server's disk (or its database) learns: no content, no file names.

A transfer whose content carries a unique marker, under distinctive file names, is sent and
received; then every byte under the server's data folder (SQLite database, WAL and shared-memory
files, blobs, staging, secrets) is searched, and on PostgreSQL the database itself: a ``pg_dump``
and every value of every column of every table. Neither the marker nor a name may appear, raw,
hex-encoded (PostgreSQL prints bytea as hex) or in base64. The server's log is searched too.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from support.scan import marked_case_files, scan_bytes, scan_database, scan_tree
from support.server import People, Server, new_case
from support.world import CPS


def test_server_holds_no_plaintext_and_no_file_names(
        server: Server, people: People, tmp_path: Path) -> None:
    files, needles = marked_case_files(tmp_path / "case-files")

    urn = new_case(people.officer)
    transfer_id = people.officer.send(files, urn, CPS)
    received = tmp_path / "received"
    people.prosecutor.ok("receive", transfer_id, "--out", str(received))
    people.prosecutor.ok("ack", transfer_id)
    for original in files:
        assert (received / original.name).read_bytes() == original.read_bytes()
    # The scan must be able to see plaintext if it were there: it is on the receiver's disk.
    assert scan_tree(received, needles)[0]

    leaks, scanned = scan_tree(server.data_dir, needles)
    assert scanned >= 4  # database, its key, two blobs at least
    if server.backend == "sqlite":
        assert (server.data_dir / "custody.db").is_file()
    leaks += scan_bytes("server log", server.log_path.read_bytes(), needles)

    db_leaks, values = scan_database(server, needles)
    assert values > 100
    leaks += db_leaks
    # Controls: the same scans do find what the server does hold in clear (an address).
    control = [people.officer.email.encode()]
    assert scan_database(server, control)[0]
    if server.backend == "sqlite":
        assert scan_tree(server.data_dir, control)[0]
    if server.backend == "postgresql":
        pg_dump = shutil.which("pg_dump")
        if pg_dump is None:
            pytest.fail("pg_dump is needed to dump the PostgreSQL database")
        dump = subprocess.run([pg_dump, "--no-owner", server.db_url], capture_output=True,
                              check=True, timeout=120).stdout
        assert b"CREATE TABLE public.key_wraps" in dump
        assert scan_bytes("pg_dump", dump, control)
        leaks += scan_bytes("pg_dump", dump, needles)

    assert not leaks, "plaintext found on the server:\n" + "\n".join(leaks)
