"""Lists of people in entries, of any length: inline, or committed to and spelled out in parts.

An entry is at most 65,535 bytes (tlog-tiles' uint16 length prefix), and a transfer to a
unit of thousands names thousands of user ids. A list (``recipients`` of ``transfer:created``
and ``transfer:sent``, ``readers`` of ``item:sealed``, ``transfer:revoked`` and
``incident:opened``) is written **inline**, ``"recipients": [ids]`` as always, while its ids
take at most :data:`PART_BUDGET` bytes of JSON; a longer one is written as a **commitment**:

    "recipients_committed": {"count": N, "parts": [i1, ..., ik], "sha256": "<hex>"}

and the ids themselves go, in order, into ``k`` ``people:part`` entries appended in the same
transaction immediately before the committing entry (indices ``i - k`` .. ``i - 1``), each

    {"list": "recipients", "part": j, "of": k, "ids": [a slice of the sorted ids]}

with the committing entry's actor, case, transfer and item (so an item's parts are in its
trail, chained by ``prev``). ``sha256`` is SHA-256 over ``"custody-people/v1\\n"`` followed by
each id, in ascending order of its bytes, each followed by ``"\\n"``; ``count`` is N. A reader
takes the parts' ids in order and checks them against all of it (:func:`check`): a missing,
extra, reordered or altered part is refused. Pure and dependency-free, so the bundle verifier,
``custody ledger verify``, a monitor and the services share it (docs/ledger.md).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from custody.errors import InvalidInput
from custody.ledger.entry import Entry

PART_TYPE = "people:part"
LISTS = ("recipients", "readers")
SUFFIX = "_committed"
DOMAIN = b"custody-people/v1\n"
# The JSON bytes of a list's ids (each '"id",') kept inline, and in one part: with the rest of
# an entry (a few hundred bytes) well under the 65,535-byte cap; ~1,000 UUIDs.
PART_BUDGET = 40_000
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_COMMITMENT_KEYS = {"count", "parts", "sha256"}
_PART_KEYS = {"list", "part", "of", "ids"}

__all__ = [
    "LISTS",
    "PART_TYPE",
    "Spelled",
    "check",
    "committed",
    "digest",
    "fits_inline",
    "named",
    "split",
]


@dataclass(frozen=True)
class Spelled:
    """A committed list, checked: its name, its people, and the indices of its parts."""

    name: str
    ids: list[str]
    parts: list[int]


def _cost(person: str) -> int:
    return len(json.dumps(person, ensure_ascii=True)) + 1


def fits_inline(ids: Sequence[str]) -> bool:
    """Whether the list is written inline (today's form, unchanged)."""
    return sum(_cost(p) for p in ids) <= PART_BUDGET


def digest(ids: Iterable[str]) -> str:
    """The ``sha256`` of a commitment to ``ids`` (already in ascending order)."""
    h = hashlib.sha256(DOMAIN)
    for person in ids:
        h.update(person.encode("utf-8") + b"\n")
    return h.hexdigest()


def split(ids: Sequence[str]) -> list[list[str]]:
    """``ids`` (sorted) in consecutive parts of at most :data:`PART_BUDGET` bytes each."""
    parts: list[list[str]] = [[]]
    used = 0
    for person in ids:
        cost = _cost(person)
        if parts[-1] and used + cost > PART_BUDGET:
            parts.append([])
            used = 0
        parts[-1].append(person)
        used += cost
    return parts


def part_data(name: str, number: int, of: int, ids: Sequence[str]) -> dict[str, Any]:
    return {"list": name, "part": number, "of": of, "ids": list(ids)}


def commitment(ids: Sequence[str], indexes: Sequence[int]) -> dict[str, Any]:
    return {"count": len(ids), "parts": list(indexes), "sha256": digest(ids)}


def committed(data: Mapping[str, Any]) -> tuple[str, Any] | None:
    """The one list ``data`` commits to rather than spells out: (its name, the commitment)."""
    found = [(k.removesuffix(SUFFIX), v) for k, v in data.items() if k.endswith(SUFFIX)]
    found = [(name, v) for name, v in found if name in LISTS]
    if len(found) > 1:
        raise InvalidInput("an entry commits to at most one list of people")
    if found and found[0][0] in data:
        raise InvalidInput(f"an entry has {found[0][0]} inline or committed to, not both")
    return found[0] if found else None


def _ascending(ids: Any) -> bool:
    return isinstance(ids, list) and all(isinstance(p, str) and p for p in ids) and all(
        a.encode() < b.encode() for a, b in itertools.pairwise(ids)
    )


def _shape(index: int, where: str, c: Any) -> tuple[int, str, list[int]]:
    """A commitment's count, sha256 and part indices, each checked for form."""
    if not isinstance(c, Mapping) or set(c) != _COMMITMENT_KEYS:
        raise InvalidInput(f"{where} is not {{count, parts, sha256}}")
    count, indexes, sha = c["count"], c["parts"], c["sha256"]
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise InvalidInput(f"{where}: count is not a positive integer")
    if not isinstance(sha, str) or not _HEX64.fullmatch(sha):
        raise InvalidInput(f"{where}: sha256 is not 64 lower-case hex digits")
    k = len(indexes) if isinstance(indexes, list) else 0
    exact = k and all(type(i) is int for i in indexes)
    if not exact or indexes != list(range(index - k, index)):
        raise InvalidInput(
            f"{where}: parts must name the entries immediately before it, "
            f"{index - k}..{index - 1}, not {indexes!r}"
        )
    return count, sha, list(indexes)


def check(
    index: int,
    case: str | None,
    transfer: str | None,
    item: str | None,
    actor: str,
    data: Mapping[str, Any],
    parts: Mapping[int, Entry],
) -> Spelled | None:
    """The list entry ``index`` commits to, spelled out from ``parts`` (index -> Entry, at
    least the ones it names), or None if it commits to none; :class:`InvalidInput` saying
    what does not match: a part missing, of another list, entry or order, or ids that are
    not the ones committed to."""
    found = committed(data)
    if found is None:
        return None
    name, c = found
    where = f"entry {index}: its {name} commitment"
    count, sha, indexes = _shape(index, where, c)
    k = len(indexes)
    ids: list[str] = []
    for number, at in enumerate(indexes, 1):
        part = parts.get(at)
        if part is None:
            raise InvalidInput(
                f"{where}: part {number} of {k} (entry {at}) is missing",
                hint="the list of people this entry names cannot be checked without every part",
            )
        if part.type != PART_TYPE:
            raise InvalidInput(f"{where}: entry {at} is a {part.type}, not part {number} of {k}")
        pd = part.data
        if not isinstance(pd, Mapping) or set(pd) != _PART_KEYS:
            raise InvalidInput(f"entry {at}: a {PART_TYPE} is {{list, part, of, ids}}")
        if type(pd["part"]) is not int or type(pd["of"]) is not int or (
            pd["list"], pd["part"], pd["of"]
        ) != (name, number, k):
            raise InvalidInput(
                f"{where}: entry {at} says it is part {pd['part']!r} of {pd['of']!r} of "
                f"{pd['list']!r}, not part {number} of {k} of {name!r}"
            )
        if (part.case, part.transfer, part.item, part.actor) != (case, transfer, item, actor):
            raise InvalidInput(f"{where}: part entry {at} is about another event")
        if not isinstance(pd["ids"], list) or not pd["ids"]:
            raise InvalidInput(f"entry {at}: ids is a non-empty list")
        ids.extend(pd["ids"])
    if not _ascending(ids):
        raise InvalidInput(f"{where}: the parts' ids are not strictly ascending")
    if len(ids) != count:
        raise InvalidInput(f"{where}: the parts name {len(ids)} people, the commitment {count}")
    if digest(ids) != sha:
        raise InvalidInput(f"{where}: the parts' ids do not hash to the committed sha256")
    return Spelled(name, ids, list(indexes))


def named(index: int, entry: Entry, name: str, parts: Mapping[int, Entry]) -> list[str] | None:
    """The people ``entry`` lists under ``name``, inline or from its checked parts; None if it
    has no such list."""
    inline = entry.data.get(name)
    if isinstance(inline, list):
        return [str(p) for p in inline]
    spelled = check(
        index, entry.case, entry.transfer, entry.item, entry.actor, entry.data, parts
    )
    if spelled is None or spelled.name != name:
        return None
    return spelled.ids
