"""The marker scan: what someone holding a server's disk or database could read in clear.

Every needle is looked for raw, hex-encoded (PostgreSQL prints bytea as hex) and in base64 (how
JSON and object metadata carry bytes), in every file under a folder and in every value of every
column of every table.
"""

from __future__ import annotations

import secrets
from base64 import b64encode
from pathlib import Path

from sqlalchemy import MetaData, select

from support.server import Server, make_file

_PIECE = 64 << 20


def marked_case_files(folder: Path) -> tuple[list[Path], list[bytes]]:
    """Two case files under ``folder`` whose content carries a fresh marker and whose names
    say what they are: the files, and the needles (marker, names) no server may hold."""
    marker = f"PLAINTEXT-MARKER-{secrets.token_hex(12)}"
    names = [f"Victim-ABE-Interview-{secrets.token_hex(6)}.txt",
             f"MG6C-Unused-Material-{secrets.token_hex(6)}.csv"]
    files = [
        make_file(folder, names[0],
                  content=(f"Interview transcript. Reference {marker}.\n" * 200).encode()),
        make_file(folder, names[1], content=f"exhibit,description\nJB/1,{marker}\n".encode()),
    ]
    return files, [marker.encode(), *(n.encode() for n in names)]


def forms(needle: bytes) -> list[bytes]:
    return [needle, needle.hex().encode(), needle.hex().upper().encode(), b64encode(needle)]


def scan_bytes(where: str, data: bytes, needles: list[bytes]) -> list[str]:
    return [f"{where}: {n!r}" for needle in needles for n in forms(needle) if n in data]


def scan_tree(root: Path, needles: list[bytes]) -> tuple[list[str], int]:
    """Every file under ``root``, read in pieces (a blob may be gigabytes) that overlap by the
    longest form of a needle, so a needle across two pieces is found."""
    found: list[str] = []
    files = 0
    overlap = max(len(f) for needle in needles for f in forms(needle)) - 1
    for path in sorted(root.rglob("*")):
        if path.is_file():
            files += 1
            hits: set[str] = set()
            with path.open("rb") as f:
                tail = b""
                while piece := f.read(_PIECE):
                    hits.update(scan_bytes(str(path), tail + piece, needles))
                    tail = (tail + piece)[-overlap:] if overlap else b""
            found += sorted(hits)
    return found, files


def scan_database(server: Server, needles: list[bytes]) -> tuple[list[str], int]:
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
                    found += scan_bytes(f"{table.name}.{column.name}", raw, needles)
    return found, values
