"""Hostile bundle zips are refused in bounded memory, whatever their headers claim.

Each bomb is written byte by byte here (one deflate stream reused for many
members), then checked by ``custody verify`` in a child process that reports
how far its peak resident memory rose above what importing custody took.
Before the zip layer was bounded, the 3 MB zip of 20 000 members here took
525 MiB and the manifest that is costly to parse 366 MiB; the bound is 100 MiB.
"""

from __future__ import annotations

import functools
import json
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from custody.bundle.archive import MANIFEST_BASE, MANIFEST_PER_ENTRY, MAX_TOTAL
from custody.ledger.tiles import MAX_ENTRY_SIZE
from support.bundles import LOG  # the bundle tests' log: any verifier key will do

PEAK_ABOVE_BASELINE = 100 << 20
_DEFLATE = 8

# The child measures itself: its peak after importing custody and the verify command (the
# command table imports each command's module only when it runs), then after the command.
# VmHWM, not getrusage: Linux carries ru_maxrss across exec, so a child would
# inherit this test process's peak; VmHWM belongs to the address space exec made.
_MEASURE = """
import json, sys
import custody.cli.ledger_cmds
from custody.cli.main import main
def peak():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) << 10 for line in status if line.startswith("VmHWM:"))
before = peak()
code = main(sys.argv[1:])
print(json.dumps({"growth": peak() - before}))
sys.exit(code)
"""

Member = tuple[str, bytes, int, int]  # name, deflate stream, CRC-32, claimed size


@functools.cache
def _deflate(data: bytes) -> tuple[bytes, int]:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush(), zlib.crc32(data)


@functools.cache
def _zeros(size: int) -> tuple[bytes, int]:
    """A deflate stream of ``size`` zero bytes, about a thousandth of that."""
    packer, chunk, crc = zlib.compressobj(9, zlib.DEFLATED, -15), bytes(1 << 20), 0
    parts = []
    for start in range(0, size, len(chunk)):
        piece = chunk[: min(len(chunk), size - start)]
        parts.append(packer.compress(piece))
        crc = zlib.crc32(piece, crc)
    return b"".join([*parts, packer.flush()]), crc


def _member(name: str, data: bytes) -> Member:
    stream, crc = _deflate(data)
    return name, stream, crc, len(data)


def _zip(members: list[Member]) -> bytes:
    """A zip of deflated members with the sizes given, true or not (APPNOTE 4.3)."""
    body, index = bytearray(), bytearray()
    for name, stream, crc, size in members:
        raw, offset = name.encode(), len(body)
        fields = (_DEFLATE, 0, 0x21, crc, len(stream), size, len(raw))  # 0x21: 1980-01-01
        body += struct.pack("<4s3H2H3L2H", b"PK\x03\x04", 20, 0, *fields, 0) + raw + stream
        index += struct.pack(
            "<4s4H2H3L5H2L", b"PK\x01\x02", 20, 20, 0, *fields, 0, 0, 0, 0, 0, offset
        )
        index += raw
    end = struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(index), len(body), 0
    )
    return bytes(body + index + end)


def _proven_shape(entries: int, entry: Member | None = None) -> list[Member]:
    """``entries`` entries and proofs of one byte each (or ``entry``), and a checkpoint."""
    one = _member("", b"x")
    members = [("checkpoint", *one[1:])]
    for i in range(entries):
        members.append((f"entries/{i}", *(entry or one)[1:]))
        members.append((f"proofs/{i}.tlog-proof", *one[1:]))
    return members


def one_member_inflating_to_256_mib() -> list[Member]:
    return [("entries/0", *_zeros(256 << 20), 256 << 20)]


def a_header_understating_its_member() -> list[Member]:
    """Only the size lies: zipfile stops at the 1000 bytes claimed, and the CRC fails."""
    stream, crc = _zeros(256 << 20)
    return [("entries/0", stream, crc, 1000)]


def twenty_thousand_members_each_within_its_limit() -> list[Member]:
    """655 MB in all from 3 MB, every member within its own limit."""
    entry = ("", *_zeros(MAX_ENTRY_SIZE), MAX_ENTRY_SIZE)
    return _proven_shape(9_999, entry)


def a_manifest_costing_forty_times_its_size_to_parse() -> list[Member]:
    entries = 9_999
    size = MANIFEST_BASE + MANIFEST_PER_ENTRY * entries
    lists = b"[[]]," * (size // 5 - 20)  # two 56-byte lists per 5 bytes
    manifest = (
        b'{"entries":[' + lists + b'[]],"format":"custody-bundle/v1","items":[],"origin":"x"}'
    )
    return [_member("manifest.json", manifest[:size]), *_proven_shape(entries)]


def every_member_at_its_limit_up_to_the_total() -> list[Member]:
    """Nothing the zip layer refuses: the most it lets through, all held at once."""
    entries = 9_999
    size = MANIFEST_BASE + MANIFEST_PER_ENTRY * entries
    text = "a" * (size - 100)
    manifest = json.dumps(
        {"entries": [text], "format": "custody-bundle/v1", "items": [], "origin": "x"},
        sort_keys=True,
        separators=(",", ":"),
    )
    members = [_member("manifest.json", manifest.encode()), *_proven_shape(entries)]
    room = MAX_TOTAL - sum(m[3] for m in members)
    full = ("", *_zeros(MAX_ENTRY_SIZE), MAX_ENTRY_SIZE)
    for i in range(room // (MAX_ENTRY_SIZE - 1)):
        members[2 + 2 * i] = (f"entries/{i}", *full[1:])
    return members


BOMBS: dict[Callable[[], list[Member]], str] = {
    one_member_inflating_to_256_mib: "entries/0: larger than 65535 bytes",
    a_header_understating_its_member: "entries/0: the zip data is damaged",
    twenty_thousand_members_each_within_its_limit: "the bundle expands to more than",
    a_manifest_costing_forty_times_its_size_to_parse: "manifest.json: more JSON values",
    every_member_at_its_limit_up_to_the_total: "manifest.json: origin 'x'",
}


def _verify_measured(path: Path) -> subprocess.CompletedProcess[str]:
    """``custody verify`` of ``path`` in a child that prints how far its peak memory rose."""
    return subprocess.run(
        [sys.executable, "-c", _MEASURE, "verify", str(path), "--log-key", LOG.verifier.vkey],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _assert_bounded(done: subprocess.CompletedProcess[str]) -> None:
    growth = json.loads(done.stdout.splitlines()[-1])["growth"]
    assert growth < PEAK_ABOVE_BASELINE, f"peak rose {growth >> 20} MiB"


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM (Linux)")
@pytest.mark.parametrize("bomb", BOMBS, ids=lambda bomb: bomb.__name__)
def test_a_bomb_is_refused_in_bounded_memory(
    bomb: Callable[[], list[Member]], tmp_path: Path
) -> None:
    path = tmp_path / "bomb.zip"
    path.write_bytes(_zip(bomb()))
    done = _verify_measured(path)
    assert done.returncode == 8, done.stderr
    assert done.stderr.startswith(f"error: {BOMBS[bomb]}"), done.stderr
    _assert_bounded(done)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM (Linux)")
def test_a_file_far_larger_than_any_bundle_is_not_read_whole(tmp_path: Path) -> None:
    """`custody verify` reads at most the largest bundle's size of the file, then refuses."""
    path = tmp_path / "huge.zip"
    with path.open("wb") as f:
        f.truncate(4 << 30)  # 4 GiB, sparse
    done = _verify_measured(path)
    assert done.returncode == 8, done.stderr
    assert "a custody bundle is at most" in done.stderr
    _assert_bounded(done)
