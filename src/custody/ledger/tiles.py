"""C2SP tlog-tiles (c2sp.org/tlog-tiles): tile paths, tile bytes and entry bundles.

Tiles have height 8: the n-th tile at level L holds the 256 hashes
MTH(D[(n·256+i)·256^L : (n·256+i+1)·256^L]), i.e. the complete subtrees at
Merkle level 8·L. Partial tiles (``.p/<W>``) hold the first W of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from custody.errors import InvalidInput
from custody.ledger.merkle import HashSource

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
MAX_LEVEL = 63
MAX_ENTRY_SIZE = 0xFFFF  # entry bundles use a uint16 length prefix


@dataclass(frozen=True)
class TileRef:
    """A tile (``level`` ≥ 0) or, with ``level=None``, an entry bundle."""

    level: int | None
    n: int
    width: int = TILE_WIDTH

    def __post_init__(self) -> None:
        if self.level is not None and not 0 <= self.level <= MAX_LEVEL:
            raise InvalidInput(f"tile level {self.level} is not within 0..{MAX_LEVEL}")
        if self.n < 0 or not 1 <= self.width <= TILE_WIDTH:
            raise InvalidInput(f"no tile {self.n} of width {self.width}")

    @property
    def is_partial(self) -> bool:
        return self.width < TILE_WIDTH

    @property
    def path(self) -> str:
        kind = "entries" if self.level is None else str(self.level)
        suffix = f".p/{self.width}" if self.is_partial else ""
        return f"tile/{kind}/{encode_index(self.n)}{suffix}"


def encode_index(n: int) -> str:
    """tlog-tiles §Merkle Tree: 3-digit groups, all but the last prefixed with "x"."""
    if n < 0:
        raise InvalidInput("a tile index is not negative")
    groups = [f"{n % 1000:03d}"]
    n //= 1000
    while n:
        groups.append(f"x{n % 1000:03d}")
        n //= 1000
    return "/".join(reversed(groups))


def _decimal(text: str, what: str) -> int:
    if not text.isascii() or not text.isdigit() or (text != "0" and text.startswith("0")):
        raise InvalidInput(f"{what} {text!r} is not a decimal without leading zeroes")
    return int(text)


def parse_tile_path(path: str) -> TileRef:
    """Parse ``tile/<L>/<N>[.p/<W>]`` or ``tile/entries/<N>[.p/<W>]``."""
    parts = path.split("/")
    if len(parts) < 3 or parts[0] != "tile":
        raise InvalidInput(f"{path!r} is not a tile path")
    level = None if parts[1] == "entries" else _decimal(parts[1], "tile level")
    groups, width = parts[2:], TILE_WIDTH
    if len(groups) >= 2 and groups[-2].endswith(".p"):
        width = _decimal(groups[-1], "partial tile width")
        if not 1 <= width < TILE_WIDTH:
            raise InvalidInput(f"partial tile width {width} is not within 1..255")
        groups = [*groups[:-2], groups[-2].removesuffix(".p")]
    n = 0
    for i, group in enumerate(groups):
        last = i == len(groups) - 1
        digits = group if last else group.removeprefix("x")
        if (not last and not group.startswith("x")) or len(digits) != 3 or not digits.isdigit():
            raise InvalidInput(f"{path!r}: tile index element {group!r} is malformed")
        if i == 0 and digits == "000" and not last:
            raise InvalidInput(f"{path!r}: tile index has a leading x000")
        n = n * 1000 + int(digits)
    return TileRef(level, n, width)


def tile_width(level: int, n: int, size: int) -> int:
    """How many hashes tile ``n`` at ``level`` has in a tree of ``size`` (0: none yet)."""
    available = size >> (TILE_HEIGHT * level)  # complete subtrees at this level
    return max(0, min(TILE_WIDTH, available - n * TILE_WIDTH))


def tile_keys(ref: TileRef) -> list[tuple[int, int]]:
    """The complete subtrees whose hashes make up the tile."""
    if ref.level is None:
        raise InvalidInput("an entry bundle holds entries, not hashes")
    level = TILE_HEIGHT * ref.level
    return [(level, ref.n * TILE_WIDTH + i) for i in range(ref.width)]


def tile_bytes(source: HashSource, ref: TileRef) -> bytes:
    """The tile's contents: its hashes concatenated (one batched fetch)."""
    return b"".join(source.nodes(tile_keys(ref)))


def entry_bundle(entries: Iterable[bytes]) -> bytes:
    """tlog-tiles §Log entries: big-endian uint16 length-prefixed entries."""
    out = bytearray()
    for entry in entries:
        if len(entry) > MAX_ENTRY_SIZE:
            raise InvalidInput(f"a log entry is at most {MAX_ENTRY_SIZE} bytes")
        out += len(entry).to_bytes(2, "big") + entry
    return bytes(out)


def parse_entry_bundle(data: bytes) -> list[bytes]:
    entries, pos = [], 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise InvalidInput("entry bundle ends inside a length prefix")
        length = int.from_bytes(data[pos : pos + 2], "big")
        if pos + 2 + length > len(data):
            raise InvalidInput("entry bundle ends inside an entry")
        entries.append(data[pos + 2 : pos + 2 + length])
        pos += 2 + length
    if len(entries) > TILE_WIDTH:
        raise InvalidInput("an entry bundle holds at most 256 entries")
    return entries
