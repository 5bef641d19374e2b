"""The age v1 header and ASCII armor, parsed strictly (C2SP age, "Header" and "ASCII armor").

Parsing is strict on purpose: any malleability in the header would let two
different byte strings carry the same MAC. Errors are :class:`Malformed`, an
internal type that :mod:`custody.crypto.age` turns into its one opaque error.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass

from custody.crypto.encoding import b64decode_strict

VERSION_LINE = b"age-encryption.org/v1"
COLUMNS = 64  # age spec: stanza bodies and armor wrap at 64 columns
BYTES_PER_LINE = 48
ARMOR_BEGIN = "-----BEGIN AGE ENCRYPTED FILE-----"
ARMOR_END = "-----END AGE ENCRYPTED FILE-----"
_RAW_B64 = re.compile(rb"[A-Za-z0-9+/]*")
_PADDED_B64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


class Malformed(Exception):
    """The input is not a well-formed age file, or a check on it failed."""


def b64_raw(data: bytes) -> bytes:
    """Unpadded standard base64 (RFC 4648 §4 without '='), as the header uses."""
    return base64.b64encode(data).rstrip(b"=")


def b64_raw_decode(text: bytes) -> bytes:
    """Strict inverse of :func:`b64_raw`: no padding, no stray bytes, canonical trailing bits."""
    if not _RAW_B64.fullmatch(text) or len(text) % 4 == 1:
        raise Malformed("invalid base64")
    data = base64.b64decode(text + b"=" * (-len(text) % 4))
    if b64_raw(data) != text:  # non-zero trailing bits: not canonical
        raise Malformed("non-canonical base64")
    return data


@dataclass(frozen=True)
class Stanza:
    """One recipient stanza: ``-> type args...`` then the wrapped body."""

    args: tuple[str, ...]
    body: bytes

    @property
    def type(self) -> str:
        return self.args[0]

    def encode(self) -> bytes:
        lines = [b"-> " + " ".join(self.args).encode("ascii")]
        encoded = b64_raw(self.body)
        lines += [encoded[i : i + COLUMNS] for i in range(0, len(encoded), COLUMNS)]
        if len(encoded) % COLUMNS == 0:
            lines.append(b"")  # the body always ends with a short (maybe empty) line
        return b"\n".join(lines) + b"\n"


@dataclass(frozen=True)
class Header:
    stanzas: tuple[Stanza, ...]
    mac: bytes
    authenticated: bytes  # the bytes the MAC covers: everything up to and including "---"

    def encode(self) -> bytes:
        return self.authenticated + b" " + b64_raw(self.mac) + b"\n"


def header_without_mac(stanzas: Sequence[Stanza]) -> bytes:
    return VERSION_LINE + b"\n" + b"".join(s.encode() for s in stanzas) + b"---"


def _valid_arg(arg: bytes) -> bool:
    return bool(arg) and all(33 <= c <= 126 for c in arg)


def header_end(buffer: bytes) -> int | None:
    """Offset just past the MAC line, if ``buffer`` holds it; only a MAC line starts with '-''-'."""
    start = buffer.find(b"\n---")
    if start < 0:
        return None
    end = buffer.find(b"\n", start + 1)
    return None if end < 0 else end + 1


def parse_header(data: bytes) -> Header:
    """Parse a complete header (``data`` ends right after the MAC line's newline)."""
    lines = data.split(b"\n")
    if len(lines) < 2 or lines.pop() != b"" or lines[0] != VERSION_LINE:
        raise Malformed("bad version line")
    stanzas: list[Stanza] = []
    offset = len(VERSION_LINE) + 1
    index = 1
    while index < len(lines):
        line = lines[index]
        if line.startswith(b"---"):
            parts = line.split(b" ")
            if parts[0] != b"---" or len(parts) != 2 or index != len(lines) - 1:
                raise Malformed("bad MAC line")
            mac = b64_raw_decode(parts[1])
            if len(mac) != 32:
                raise Malformed("bad MAC length")
            return Header(tuple(stanzas), mac, data[: offset + 3])
        parts = line.split(b" ")
        if parts[0] != b"->" or len(parts) < 2 or not all(_valid_arg(a) for a in parts[1:]):
            raise Malformed("bad stanza line")
        offset += len(line) + 1
        body: list[bytes] = []
        while True:  # body lines are full (64 columns) until one short line ends the stanza
            index += 1
            if index >= len(lines):
                raise Malformed("stanza body not terminated")
            body_line = lines[index]
            if len(body_line) > COLUMNS:
                raise Malformed("stanza body line too long")
            body.append(b64_raw_decode(body_line))
            offset += len(body_line) + 1
            if len(body_line) < COLUMNS:
                break
        stanzas.append(Stanza(tuple(a.decode("ascii") for a in parts[1:]), b"".join(body)))
        index += 1
    raise Malformed("no MAC line")


def is_armored(data: bytes) -> bool:
    return data.lstrip(b" \t\r\n").startswith(b"-----BEGIN")


def dearmor(data: bytes) -> bytes:
    """Decode the age ASCII armor: strict PEM, type AGE ENCRYPTED FILE, 64 columns, no headers.

    Only whitespace around the whole armor and CRLF line ends are tolerated.
    """
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as exc:
        raise Malformed("armor is not ASCII") from exc
    lines = text.strip(" \t\r\n").replace("\r\n", "\n").split("\n")
    if len(lines) < 2 or lines[0] != ARMOR_BEGIN or lines[-1] != ARMOR_END:
        raise Malformed("bad armor begin or end line")
    body = lines[1:-1]
    for i, line in enumerate(body):
        last = i == len(body) - 1
        if not _PADDED_B64.fullmatch(line) or not (
            0 < len(line) <= COLUMNS if last else len(line) == COLUMNS
        ):
            raise Malformed("bad armor line")
        if not last and "=" in line:
            raise Malformed("padding before the last armor line")
    try:
        return b64decode_strict("".join(body))
    except ValueError as exc:
        raise Malformed(f"armor: {exc}") from exc


def armor(data: bytes) -> bytes:
    """The ASCII-armored form of a binary age file (what ``age -a`` writes)."""
    encoded = base64.b64encode(data)
    lines = [encoded[i : i + COLUMNS] for i in range(0, len(encoded), COLUMNS)]
    return b"\n".join([ARMOR_BEGIN.encode(), *lines, ARMOR_END.encode()]) + b"\n"
