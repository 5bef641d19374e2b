"""tlog-tiles paths and bytes; the canonical entry format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from custody.errors import InvalidInput
from custody.ledger import tiles
from custody.ledger.entry import Entry, PrevRef
from custody.ledger.merkle import MemoryTree, leaf_hash, node_hash


@pytest.mark.parametrize(
    ("ref", "path"),
    [
        (tiles.TileRef(0, 1234067), "tile/0/x001/x234/067"),
        (tiles.TileRef(2, 5, 17), "tile/2/005.p/17"),
        (tiles.TileRef(None, 1000), "tile/entries/x001/000"),
        (tiles.TileRef(1, 0), "tile/1/000"),
    ],
)
def test_tile_paths_round_trip(ref: tiles.TileRef, path: str) -> None:
    assert ref.path == path
    assert tiles.parse_tile_path(path) == ref


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/1",
        "tile/00/001",
        "tile/64/001",
        "tile/0/001/002",
        "tile/0/x000/001",
        "tile/0/001.p/256",
        "tile/0/001.p/0",
        "tile/0/001.p/05",
        "tile/0/../001",
        "tiles/0/001",
        "tile/x/001",
    ],
)
def test_malformed_tile_paths_are_refused(path: str) -> None:
    with pytest.raises(InvalidInput):
        tiles.parse_tile_path(path)


def test_tile_widths_follow_the_spec_example() -> None:
    # tlog-tiles §Partial Tiles: size 70,000 -> 273 full level-0 tiles, then width 112.
    assert tiles.tile_width(0, 272, 70_000) == 256
    assert tiles.tile_width(0, 273, 70_000) == 112
    assert tiles.tile_width(1, 0, 70_000) == 256
    assert tiles.tile_width(1, 1, 70_000) == 17
    assert tiles.tile_width(2, 0, 70_000) == 1


def test_tile_bytes_hold_the_level_hashes() -> None:
    tree = MemoryTree()
    for i in range(600):
        tree.append(str(i).encode())
    level0 = tiles.tile_bytes(tree, tiles.TileRef(0, 2, 88))
    assert level0[:32] == leaf_hash(b"512")
    assert len(level0) == 88 * 32
    level1 = tiles.tile_bytes(tree, tiles.TileRef(1, 0, 2))
    assert level1[32:] == tree.nodes([(8, 1)])[0]
    assert node_hash(level1[:32], level1[32:]) == tree.root(512)


def test_entry_bundles_are_uint16_length_prefixed() -> None:
    data = tiles.entry_bundle([b"ab", b""])
    assert data == b"\x00\x02ab\x00\x00"
    assert tiles.parse_entry_bundle(data) == [b"ab", b""]
    with pytest.raises(InvalidInput):
        tiles.parse_entry_bundle(b"\x00\x05ab")


T = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def test_entry_canonical_form() -> None:
    e = Entry(
        "item:sealed",
        T,
        "system",
        case="c1",
        item="i1",
        prev=PrevRef(3, "ab" * 32),
        data={"z": 1, "a": ["é", None, True]},
    )
    raw = e.to_bytes()
    assert raw == (
        b'{"actor":"system","case":"c1","data":{"a":["\\u00e9",null,true],"z":1},"item":"i1",'
        b'"prev":{"index":3,"leaf":"' + b"ab" * 32 + b'"},"time":"2026-03-01T12:00:00.123456Z",'
        b'"transfer":null,"type":"item:sealed","v":1}'
    )
    assert Entry.from_bytes(raw) == e
    later = e.time.astimezone(timezone(timedelta(hours=2)))
    assert (
        Entry(
            "item:sealed", later, "system", case="c1", item="i1", prev=e.prev, data=e.data
        ).to_bytes()
        == raw
    )


@pytest.mark.parametrize(
    "raw",
    [
        b'{"v":2}',
        b'{"actor":"system","case":null,"data":{"x":1.5},"item":null,"prev":null,'
        b'"time":"2026-03-01T12:00:00.000000Z","transfer":null,"type":"item:sealed","v":1}',
        b'{"actor":"system","case":null,"data":{},"item":null,"prev":{"index":1,"leaf":"'
        + b"00" * 32
        + b'"},"time":"2026-03-01T12:00:00.000000Z","transfer":null,'
        b'"type":"item:sealed","v":1}',
        b'{"actor":"system","case":null,"data":{},"item":null,"name":"x","prev":null,'
        b'"time":"2026-03-01T12:00:00.000000Z","transfer":null,"type":"item:sealed","v":1}',
        b'{"v":1, "actor":"system","case":null,"data":{},"item":null,"prev":null,'
        b'"time":"2026-03-01T12:00:00.000000Z","transfer":null,"type":"item:sealed"}',
        b'{"actor":"system","case":null,"data":{},"item":null,"prev":null,'
        b'"time":"2026-03-01T12:00:00Z","transfer":null,"type":"item:sealed","v":1}',
    ],
    ids=["version", "float", "prev-without-item", "extra-key", "not-canonical", "time"],
)
def test_entry_decoding_is_strict(raw: bytes) -> None:
    with pytest.raises(InvalidInput):
        Entry.from_bytes(raw)


def test_entry_fields_match_whole_strings_and_hold_unicode_text() -> None:
    # re.match with "$" accepts one final newline: "item:sealed\n" once passed as a type.
    good = Entry("item:sealed", T, "system", item="i", data={"n": 1}).to_bytes().decode()
    prev = f'"prev":{{"index":3,"leaf":"{"0" * 64}"}}'
    assert Entry.from_bytes(good.replace('"prev":null', prev).encode()).prev is not None
    hostile = {
        "type": good.replace('"item:sealed"', '"item:sealed\\n"'),
        "leaf": good.replace('"prev":null', prev.replace('"}', '\\n"}')),
        "time": good.replace('Z"', 'Z\\n"'),
        "surrogate": good.replace('"data":{', '"data":{"a":"\\ud800",'),
        "depth": good.replace('"data":{', '"data":{"a":' + "[" * 63 + "]" * 63 + ","),
    }
    for name, text in hostile.items():
        with pytest.raises(InvalidInput):
            Entry.from_bytes(text.encode())
        assert name  # each refused on its own
    deep_but_allowed = good.replace('"data":{', '"data":{"a":' + "[" * 62 + "]" * 62 + ",")
    assert Entry.from_bytes(deep_but_allowed.encode()).data["n"] == 1


@pytest.mark.parametrize("type_", ["Item:sealed", "item", "item:", "item:sealed ", "item:se-aled",
                                   "item:sealed\n"])
def test_entry_types_are_tags(type_: str) -> None:
    with pytest.raises(InvalidInput):
        Entry(type_, T, "system")


def test_entries_refuse_naive_time_and_floats() -> None:
    with pytest.raises(InvalidInput):
        Entry("item:sealed", datetime(2026, 1, 1), "system")
    with pytest.raises(InvalidInput):
        Entry("item:sealed", T, "system", data={"n": 0.5})
