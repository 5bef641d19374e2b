"""The custody ledger entry, version 1: one event, as canonical JSON bytes.

An entry records *that* something happened to case material: its type tag
(``item:sealed``, ``transfer:sent``, ``key:registered``, ``access:refused``),
server time (UTC), a pseudonymous actor (a user UUID or ``"system"``), the
case, transfer and item ids it concerns, content hashes and other ids in
``data``, and ``prev``: the index and leaf hash of the previous entry of the
same item, so an item's trail is provably complete, not just included.

Entries carry **no names and no file names**: the format has no field for
them, and ``data`` is for hashes, ids and codes only. The log is public to
monitors; a name in it could never be erased.

Encoding: ``{"v":1,...}`` with sorted keys, ``(",", ":")`` separators and
ASCII escapes; no floats anywhere. Decoding is strict and only accepts the
canonical form, so one event has exactly one leaf hash.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from custody.crypto.encoding import json_strict
from custody.errors import InvalidInput
from custody.ledger.tiles import MAX_ENTRY_SIZE

VERSION = 1
TYPE_PATTERN = re.compile(r"^[a-z]+(:[a-z_]+)+$")
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_TIME_PATTERN = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_KEYS = {"v", "type", "time", "actor", "case", "transfer", "item", "prev", "data"}
_INT_LIMIT = 1 << 63  # JSON integers stay within a signed 64-bit range for every reader


@dataclass(frozen=True)
class PrevRef:
    """The previous entry of the same item: its index and hex leaf hash."""

    index: int
    leaf: str

    def __post_init__(self) -> None:
        if isinstance(self.index, bool) or not isinstance(self.index, int) or self.index < 0:
            raise InvalidInput("prev.index is a non-negative integer")
        if not isinstance(self.leaf, str) or not _HEX64.fullmatch(self.leaf):
            raise InvalidInput("prev.leaf is 64 lowercase hex digits")


def _check_json(value: Any, where: str) -> None:
    if value is None or isinstance(value, (str, bool)):
        return
    if isinstance(value, int):
        if not -_INT_LIMIT <= value < _INT_LIMIT:
            raise InvalidInput(f"{where}: integer outside the signed 64-bit range")
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_json(item, f"{where}[{i}]")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInput(f"{where}: object keys are strings")
            _check_json(item, f"{where}.{key}")
        return
    raise InvalidInput(f"{where}: {type(value).__name__} is not allowed (no floats)")


def _optional_id(value: Any, name: str) -> None:
    if value is not None and (not isinstance(value, str) or not value or len(value) > 128):
        raise InvalidInput(f"{name} is null or a non-empty id of at most 128 characters")


@dataclass(frozen=True)
class Entry:
    """One ledger event (see the module docstring)."""

    type: str
    time: datetime
    actor: str
    case: str | None = None
    transfer: str | None = None
    item: str | None = None
    prev: PrevRef | None = None
    data: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if not isinstance(self.type, str) or not TYPE_PATTERN.fullmatch(self.type):
            raise InvalidInput(f"entry type {self.type!r} is not a tag like 'item:sealed'")
        if not isinstance(self.time, datetime) or self.time.utcoffset() is None:
            raise InvalidInput("entry time is a timezone-aware datetime")
        if not isinstance(self.actor, str) or not self.actor or len(self.actor) > 128:
            raise InvalidInput("entry actor is a user id or 'system'")
        for name in ("case", "transfer", "item"):
            _optional_id(getattr(self, name), name)
        if self.prev is not None and self.item is None:
            raise InvalidInput("an entry without an item has no prev")
        if not isinstance(self.data, Mapping):
            raise InvalidInput("entry data is an object")
        _check_json(self.data, "data")

    def to_json(self) -> dict[str, Any]:
        prev = None if self.prev is None else {"index": self.prev.index, "leaf": self.prev.leaf}
        return {
            "v": VERSION,
            "type": self.type,
            "time": self.time.astimezone(UTC).strftime(TIME_FORMAT),
            "actor": self.actor,
            "case": self.case,
            "transfer": self.transfer,
            "item": self.item,
            "prev": prev,
            "data": _plain(self.data),
        }

    def to_bytes(self) -> bytes:
        raw = json.dumps(
            self.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=True
        ).encode("ascii")
        if len(raw) > MAX_ENTRY_SIZE:
            raise InvalidInput(f"an entry is at most {MAX_ENTRY_SIZE} bytes (tlog-tiles)")
        return raw

    def with_prev(self, prev: PrevRef | None) -> Entry:
        return Entry(
            self.type, self.time, self.actor, self.case, self.transfer, self.item, prev, self.data
        )

    @classmethod
    def from_bytes(cls, raw: bytes) -> Entry:
        """Strictly decode canonical v1 bytes; :class:`InvalidInput` otherwise."""
        try:
            obj = json_strict(raw.decode("ascii"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise InvalidInput(f"entry is not canonical JSON: {exc}") from exc
        if not isinstance(obj, dict):
            raise InvalidInput("entry is a JSON object")
        if obj.get("v") != VERSION or isinstance(obj.get("v"), bool):
            raise InvalidInput(f"entry version {obj.get('v')!r} is not supported (expected 1)")
        if set(obj) != _KEYS:
            raise InvalidInput(f"entry keys are {sorted(_KEYS)}, not {sorted(obj)}")
        entry = cls(
            type=obj["type"],
            time=_parse_time(obj["time"]),
            actor=obj["actor"],
            case=obj["case"],
            transfer=obj["transfer"],
            item=obj["item"],
            prev=_parse_prev(obj["prev"]),
            data=_frozen(obj["data"]),
        )
        if entry.to_bytes() != raw:
            raise InvalidInput("entry is not in canonical form")
        return entry


def _parse_time(value: Any) -> datetime:
    if not isinstance(value, str) or not _TIME_PATTERN.fullmatch(value):
        raise InvalidInput("entry time is YYYY-MM-DDTHH:MM:SS.ffffffZ")
    try:  # the pattern fixed every field's place: as strptime(TIME_FORMAT), without its cost
        return datetime(int(value[0:4]), int(value[5:7]), int(value[8:10]), int(value[11:13]),
                        int(value[14:16]), int(value[17:19]), int(value[20:26]), tzinfo=UTC)
    except ValueError as exc:
        raise InvalidInput(f"entry time {value!r} is not a date") from exc


def _parse_prev(value: Any) -> PrevRef | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"index", "leaf"}:
        raise InvalidInput('entry prev is null or {"index": N, "leaf": hex}')
    return PrevRef(value["index"], value["leaf"])


def _frozen(value: Any) -> Any:
    if not isinstance(value, dict):
        raise InvalidInput("entry data is an object")
    return MappingProxyType(value)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
