"""A damaged bundle zip is an IntegrityError naming the member or the index, never a crash.

Each case patches the bytes of a real bundle the way storage, transit or a
hand with a hex editor would: a CRC, a method id, a flag, an offset, the
central directory. ``custody verify`` must then exit 8 and say what broke and
what to do, where it used to end in "internal error" (exit 70).
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from custody.bundle import verify_bundle
from custody.cli.main import main
from custody.errors import IntegrityError
from support.bundles import BUNDLE, LOG  # the bundle of one item's trail, and its log's key

MEMBER = "entries/2"
FRESH_COPY = "fresh copy"
INDEX = "zip index (central directory) is damaged"


def _repacked_stored() -> bytes:
    """The bundle with its members stored, as custody made them before it deflated them."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(BUNDLE)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info), zipfile.ZIP_STORED)
    return out.getvalue()


STORED = _repacked_stored()
DEFLATED = BUNDLE  # custody deflates every member


def _end(data: bytes) -> int:
    return len(data) - 22  # the bundle has no comment: its end record is the last 22 bytes


def _central(data: bytes, name: str) -> int:
    """Where ``name``'s record starts in the central directory (APPNOTE 4.3.12)."""
    pos = struct.unpack_from("<L", data, _end(data) + 16)[0]
    while data.startswith(b"PK\x01\x02", pos):
        name_len, extra_len, comment_len = struct.unpack_from("<3H", data, pos + 28)
        if data[pos + 46 : pos + 46 + name_len] == name.encode():
            return pos
        pos += 46 + name_len + extra_len + comment_len
    raise AssertionError(f"{name} is not in the central directory")


def _local(data: bytes, name: str) -> int:
    """Where ``name``'s local header starts (APPNOTE 4.3.7)."""
    offset: int = struct.unpack_from("<L", data, _central(data, name) + 42)[0]
    return offset


def _patch(data: bytes, at: int, fmt: str, change: Callable[[int], int]) -> bytes:
    out = bytearray(data)
    (value,) = struct.unpack_from(fmt, out, at)
    struct.pack_into(fmt, out, at, change(value))
    return bytes(out)


def _both_headers(
    data: bytes, fmt: str, local: int, central: int, change: Callable[[int], int]
) -> bytes:
    """Change one field the same way in ``MEMBER``'s local header and central record."""
    data = _patch(data, _local(data, MEMBER) + local, fmt, change)
    return _patch(data, _central(data, MEMBER) + central, fmt, change)


def _stream_start(data: bytes, name: str) -> int:
    pos = _local(data, name)
    name_len, extra_len = struct.unpack_from("<2H", data, pos + 26)
    return pos + 30 + name_len + extra_len


def _bad_block_type() -> bytes:
    out = bytearray(DEFLATED)
    out[_stream_start(DEFLATED, MEMBER)] |= 0b110  # BTYPE 11: reserved (RFC 1951 §3.2.3)
    return bytes(out)


def _name_not_utf8() -> bytes:
    data = _patch(BUNDLE, _central(BUNDLE, MEMBER) + 8, "<H", lambda flags: flags | 0x800)
    out = bytearray(data)
    out[_central(data, MEMBER) + 46] = 0xFF
    return bytes(out)


def _wrong_local_name() -> bytes:
    out = bytearray(BUNDLE)
    out[_local(BUNDLE, MEMBER) + 30 + len("entries/")] = ord("3")
    return bytes(out)


def _zip64_locator() -> bytes:
    return BUNDLE[:-22] + b"PK\x06\x07" + bytes(16) + BUNDLE[-22:]


MEMBER_DAMAGE: dict[str, tuple[Callable[[], bytes], str]] = {
    "a flipped CRC byte": (lambda: _both_headers(STORED, "<B", 14, 16, lambda b: b ^ 1), "CRC"),
    "a flipped CRC byte, deflated": (
        lambda: _both_headers(DEFLATED, "<B", 14, 16, lambda b: b ^ 1),
        "CRC",
    ),
    "an unknown compression method": (
        lambda: _both_headers(BUNDLE, "<H", 8, 10, lambda _: 99),
        "method 99",
    ),
    "the encrypted flag": (
        lambda: _both_headers(BUNDLE, "<H", 6, 8, lambda flags: flags | 0x01),
        "encrypted",
    ),
    "the strong encryption flag": (
        lambda: _both_headers(DEFLATED, "<H", 6, 8, lambda flags: flags | 0x40),
        "encrypted",
    ),
    "a deflate block of reserved type": (_bad_block_type, "invalid block type"),
    "a deflate stream cut short": (
        lambda: _both_headers(DEFLATED, "<L", 18, 20, lambda size: size // 2),  # compressed
        "damaged",
    ),
    "a size claim below the data": (
        lambda: _both_headers(DEFLATED, "<L", 22, 24, lambda size: size - 1),  # uncompressed
        "CRC",
    ),
    "a local header offset off by one": (
        lambda: _patch(BUNDLE, _central(BUNDLE, MEMBER) + 42, "<L", lambda o: o + 1),
        "Bad magic number for file header",
    ),
    "a local header naming another file": (_wrong_local_name, "differ"),
}

INDEX_DAMAGE: dict[str, Callable[[], bytes]] = {
    "a zip cut inside its central directory": lambda: BUNDLE[: _central(BUNDLE, MEMBER) + 20],
    "an end record claiming a larger directory": lambda: _patch(
        BUNDLE, _end(BUNDLE) + 12, "<L", lambda n: n + 1
    ),
    "a directory far larger than its files need": lambda: _patch(
        BUNDLE, _end(BUNDLE) + 12, "<L", lambda n: n * 64
    ),
    "a broken central record signature": lambda: _patch(
        BUNDLE, _central(BUNDLE, "checkpoint"), "<B", lambda b: b ^ 0xFF
    ),
    "an end record counting one file less": lambda: _patch(
        BUNDLE, _end(BUNDLE) + 10, "<H", lambda n: n - 1
    ),
    "a name flagged UTF-8 that is not": _name_not_utf8,
    "zip64 records": _zip64_locator,
    "bytes that are no zip at all": lambda: b"this is not a zip file, just some text",
    "an empty file": lambda: b"",
}


@pytest.mark.parametrize("damage", MEMBER_DAMAGE)
def test_member_damage_names_the_member_and_what_to_do(damage: str) -> None:
    make, detail = MEMBER_DAMAGE[damage]
    with pytest.raises(IntegrityError) as caught:
        verify_bundle(make(), LOG.verifier.vkey)
    assert caught.value.message.startswith(f"{MEMBER}: "), caught.value.message
    assert detail in caught.value.message
    assert FRESH_COPY in caught.value.diagnostics()


@pytest.mark.parametrize("damage", INDEX_DAMAGE)
def test_index_damage_says_the_index_is_damaged(damage: str) -> None:
    with pytest.raises(IntegrityError) as caught:
        verify_bundle(INDEX_DAMAGE[damage](), LOG.verifier.vkey)
    message = caught.value.message
    assert INDEX in message or "more than" in message, message
    assert FRESH_COPY in caught.value.diagnostics()


FAULTS = [
    zipfile.BadZipFile("Bad CRC-32"),
    NotImplementedError("That compression method is not supported"),
    RuntimeError("File is encrypted, password required for extraction"),
    zlib.error("Error -3 while decompressing data"),
    EOFError(),
    OSError("seek out of range"),
    struct.error("unpack requires a buffer of 30 bytes"),
    ValueError("'utf-8' codec can't decode byte 0xff"),
]


@pytest.mark.parametrize("fault", FAULTS, ids=lambda fault: repr(type(fault)))
def test_every_fault_zipfile_raises_on_a_member_names_the_member(
    fault: Exception, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: zipfile.ZipFile, *args: object, **kwargs: object) -> None:
        raise fault

    monkeypatch.setattr(zipfile.ZipFile, "open", broken)
    with pytest.raises(IntegrityError, match=r"^checkpoint: the zip data is damaged") as caught:
        verify_bundle(BUNDLE, LOG.verifier.vkey)  # the checkpoint is read first
    assert FRESH_COPY in caught.value.diagnostics()


@pytest.mark.parametrize("fault", FAULTS, ids=lambda fault: repr(type(fault)))
def test_every_fault_zipfile_raises_on_the_index_says_so(
    fault: Exception, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: zipfile.ZipFile) -> None:
        raise fault

    monkeypatch.setattr(zipfile.ZipFile, "_RealGetContents", broken)
    with pytest.raises(IntegrityError, match=re.escape(INDEX)) as caught:
        verify_bundle(BUNDLE, LOG.verifier.vkey)
    assert FRESH_COPY in caught.value.diagnostics()


@pytest.mark.slow  # over three seconds: the whole suite runs it, the fast run does not
@pytest.mark.parametrize("bundle", [DEFLATED, STORED], ids=["deflated", "stored"])
def test_every_one_byte_change_to_the_zip_verifies_the_same_or_is_refused(bundle: bytes) -> None:
    """Bytes a zip reader ignores (timestamps, attributes) may change; nothing else may."""
    want = verify_bundle(bundle, LOG.verifier.vkey)
    for pos in range(len(bundle)):
        damaged = bytearray(bundle)
        damaged[pos] ^= 0xFF
        try:
            got = verify_bundle(bytes(damaged), LOG.verifier.vkey)
        except IntegrityError:
            continue
        assert (got.trail, got.root_hash) == (want.trail, want.root_hash), pos


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        ("a flipped CRC byte", MEMBER),
        ("an unknown compression method", MEMBER),
        ("the encrypted flag", MEMBER),
        ("a zip cut inside its central directory", INDEX),
    ],
)
def test_custody_verify_exits_8_naming_the_damage(
    damage: str, named: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make = MEMBER_DAMAGE[damage][0] if damage in MEMBER_DAMAGE else INDEX_DAMAGE[damage]
    bundle = tmp_path / "evidence.zip"
    bundle.write_bytes(make())
    assert main(["verify", str(bundle), "--log-key", LOG.verifier.vkey]) == 8
    err = capsys.readouterr().err
    assert err.startswith("error: "), err
    assert named in err
    assert FRESH_COPY in err
    assert "internal error" not in err
