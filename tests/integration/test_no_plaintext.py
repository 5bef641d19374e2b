"""What someone holding the server's disk (or its database) learns: no content, no file names.

A transfer whose content carries a unique marker, under distinctive file names, is sent and
received; then every byte under the server's data folder (SQLite database, WAL and shared-memory
files, blobs, staging, secrets) is searched, and on PostgreSQL the database itself: a ``pg_dump``
and every value of every column of every table. Neither the marker nor a name may appear, raw or
hex-encoded (PostgreSQL prints bytea as hex). The server's log is searched too.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import MetaData, select

from support.server import People, Server, make_file, new_case
from support.world import CPS


def _forms(needle: bytes) -> list[bytes]:
    return [needle, needle.hex().encode(), needle.hex().upper().encode()]


def _scan_bytes(where: str, data: bytes, needles: list[bytes]) -> list[str]:
    return [f"{where}: {n!r}" for needle in needles for n in _forms(needle) if n in data]


def _scan_tree(root: Path, needles: list[bytes]) -> tuple[list[str], int]:
    found: list[str] = []
    files = 0
    for path in sorted(root.rglob("*")):
        if path.is_file():
            files += 1
            found += _scan_bytes(str(path), path.read_bytes(), needles)
    return found, files


def _scan_database(server: Server, needles: list[bytes]) -> tuple[list[str], int]:
    """Every value of every column of every table, as the server's database holds it."""
    found: list[str] = []
    values = 0
    metadata = MetaData()
    metadata.reflect(server.engine)
    assert {"items", "key_wraps", "ledger_entries", "transfers"} <= set(metadata.tables)
    with server.engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)):
                for column, value in zip(table.columns, row, strict=True):
                    if value is None:
                        continue
                    if isinstance(value, bytes | memoryview):
                        raw = bytes(value)
                    else:
                        raw = str(value).encode()
                    values += 1
                    found += _scan_bytes(f"{table.name}.{column.name}", raw, needles)
    return found, values


def test_server_holds_no_plaintext_and_no_file_names(
        server: Server, people: People, tmp_path: Path) -> None:
    marker = f"PLAINTEXT-MARKER-{secrets.token_hex(12)}"
    names = [f"Victim-ABE-Interview-{secrets.token_hex(6)}.txt",
             f"MG6C-Unused-Material-{secrets.token_hex(6)}.csv"]
    folder = tmp_path / "case-files"
    files = [
        make_file(folder, names[0],
                  content=(f"Interview transcript. Reference {marker}.\n" * 200).encode()),
        make_file(folder, names[1], content=f"exhibit,description\nJB/1,{marker}\n".encode()),
    ]
    needles = [marker.encode(), *(n.encode() for n in names)]

    urn = new_case(people.officer)
    transfer_id = people.officer.send(files, urn, CPS)
    received = tmp_path / "received"
    people.prosecutor.ok("receive", transfer_id, "--out", str(received))
    people.prosecutor.ok("ack", transfer_id)
    for original in files:
        assert (received / original.name).read_bytes() == original.read_bytes()
    # The scan must be able to see plaintext if it were there: it is on the receiver's disk.
    assert _scan_tree(received, needles)[0]

    leaks, scanned = _scan_tree(server.data_dir, needles)
    assert scanned >= 4  # database, its key, two blobs at least
    if server.backend == "sqlite":
        assert (server.data_dir / "custody.db").is_file()
    leaks += _scan_bytes("server log", server.log_path.read_bytes(), needles)

    db_leaks, values = _scan_database(server, needles)
    assert values > 100
    leaks += db_leaks
    # Controls: the same scans do find what the server does hold in clear (an address).
    control = [people.officer.email.encode()]
    assert _scan_database(server, control)[0]
    if server.backend == "sqlite":
        assert _scan_tree(server.data_dir, control)[0]
    if server.backend == "postgresql":
        pg_dump = shutil.which("pg_dump")
        if pg_dump is None:
            pytest.fail("pg_dump is needed to dump the PostgreSQL database")
        dump = subprocess.run([pg_dump, "--no-owner", server.db_url], capture_output=True,
                              check=True, timeout=120).stdout
        assert b"CREATE TABLE public.key_wraps" in dump
        assert _scan_bytes("pg_dump", dump, control)
        leaks += _scan_bytes("pg_dump", dump, needles)

    assert not leaks, "plaintext found on the server:\n" + "\n".join(leaks)
