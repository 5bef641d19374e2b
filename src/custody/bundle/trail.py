"""What a bundle's entries say about each item's trail: listed, unbroken, complete.

:mod:`custody.bundle.verify` has already proven every entry is in the signed
log; this module checks that ``manifest.json`` lists exactly them, that each
item's ``prev`` chain is unbroken, and, with a heads proof, that each item's
last entry here is its latest in the log (:mod:`custody.ledger.heads`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from custody.bundle.names import AttestedNames
from custody.crypto.encoding import b64decode_strict
from custody.errors import CustodyError, IntegrityError
from custody.ledger import heads, people
from custody.ledger.entry import Entry, PrevRef
from custody.ledger.merkle import leaf_hash

__all__ = ["BundleReport", "TrailEntry", "check_heads", "check_people", "check_trail"]


@dataclass(frozen=True)
class TrailEntry:
    index: int
    time: datetime
    type: str
    actor: str
    item: str | None


@dataclass
class BundleReport:
    """What a bundle proved: the log's checkpoint, the trail, and the checks passed."""

    origin: str
    size: int
    root_hash: bytes
    trail: list[TrailEntry] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    # What the bundle does not prove, said as plainly as what it does.
    caveats: list[str] = field(default_factory=list)
    content_item: str | None = None
    # Who the actor ids are, as the operator attests (names.json, its signature verified).
    names: AttestedNames | None = None


def parse_entry(index: int, raw: bytes) -> Entry:
    """Entry ``index`` of the bundle, or an IntegrityError naming its file."""
    try:
        return Entry.from_bytes(raw)
    except CustodyError as exc:
        raise IntegrityError(f"entries/{index}: not a custody entry: {exc.message}") from exc


def canonical_b64(value: Any, what: str) -> bytes:
    """The bytes of ``value``, a base64 string in its one canonical spelling."""
    if not isinstance(value, str):
        raise IntegrityError(f"{what} is not a base64 string")
    try:
        return b64decode_strict(value)
    except ValueError as exc:
        raise IntegrityError(f"{what} is {exc}") from exc


def check_trail(listed: list[Any], entries: dict[int, bytes], report: BundleReport) -> None:
    """manifest.json's entry list matches the files; every item's prev chain is unbroken."""
    indexes = []
    for pos, row in enumerate(listed):
        if not isinstance(row, dict) or set(row) != {"index", "leaf_hash", "type", "item"}:
            raise IntegrityError(f"manifest.json: entries[{pos}] is malformed")
        indexes.append(row["index"])
        raw = entries.get(row["index"])
        if raw is None:
            raise IntegrityError(f"manifest.json: entry {row['index']} has no entries/ file")
        entry = parse_entry(row["index"], raw)
        if (row["leaf_hash"], row["type"], row["item"]) != (
            leaf_hash(raw).hex(),
            entry.type,
            entry.item,
        ):
            raise IntegrityError(f"manifest.json: entry {row['index']} does not match its file")
    if indexes != sorted(entries):
        raise IntegrityError("manifest.json: the entry list is not exactly the entries/ files")
    last: dict[str, PrevRef] = {}
    for index in sorted(entries):
        entry = parse_entry(index, entries[index])
        if entry.item is not None:
            want = last.get(entry.item)
            if entry.prev != want:
                what = "be the item's first" if want is None else f"follow entry {want.index}"
                raise IntegrityError(
                    f"entry {index}: the trail of item {entry.item} is broken "
                    f"(it should {what}, but its prev is {entry.prev})"
                )
            last[entry.item] = PrevRef(index, leaf_hash(entries[index]).hex())
        report.trail.append(TrailEntry(index, entry.time, entry.type, entry.actor, entry.item))
    report.checks.append(
        f"trails of {len(last)} item(s) unbroken from each item's first entry to its last here"
    )


def check_people(entries: dict[int, bytes], report: BundleReport) -> None:
    """Every list of people an entry commits to rather than spells out is spelled out by its
    ``people:part`` entries, all of them here, in order, matching its count and SHA-256; and
    every part here belongs to exactly one such entry (:mod:`custody.ledger.people`)."""
    parsed = {index: parse_entry(index, raw) for index, raw in entries.items()}
    owned: dict[int, int] = {}
    for index, entry in sorted(parsed.items()):
        try:
            spelled = people.check(
                index, entry.case, entry.transfer, entry.item, entry.actor, entry.data, parsed
            )
        except CustodyError as exc:
            raise IntegrityError(
                f"the people entry {index} names cannot be checked: {exc.message}",
                hint="ask for a new bundle; if this one was offered as complete, say so",
            ) from exc
        if spelled is None:
            continue
        for part in spelled.parts:
            owned[part] = index
        report.checks.append(
            f"entry {index} ({entry.type}): its {spelled.name}, {len(spelled.ids)} people, "
            f"match its commitment and its {len(spelled.parts)} part(s), entries "
            f"{spelled.parts[0]}..{spelled.parts[-1]}"
        )
    for index, entry in sorted(parsed.items()):
        if entry.type == people.PART_TYPE and index not in owned:
            raise IntegrityError(
                f"entry {index} is a {people.PART_TYPE} that no entry in the bundle commits to "
                "(an extra part, or the entry that commits to it is missing)"
            )


def check_heads(part: Any, entries: dict[int, bytes], size: int, report: BundleReport) -> None:
    """Each item's last entry in the bundle is its latest in the log up to the checkpoint."""
    last: dict[str, int] = {}
    for index in sorted(entries):
        item = parse_entry(index, entries[index]).item
        if item is not None:
            last[item] = index
    if part is None:
        report.caveats.append(
            "this bundle carries no heads proof: it does not prove that no entry of these "
            "items follows the last one shown (made before custody proved completeness)"
        )
        return
    if not isinstance(part, dict) or set(part) != {"index", "items"}:
        raise IntegrityError('manifest.json: heads is not {"index", "items"}')
    index, proofs = part["index"], part["items"]
    if index != size - 1 or index not in entries:
        raise IntegrityError(
            f"manifest.json: heads names entry {index!r}, not the checkpoint's last ({size - 1}) "
            "included in the bundle"
        )
    sealing = parse_entry(index, entries[index])
    try:
        root = heads.committed_root(sealing.type, sealing.data, index)
    except CustodyError as exc:
        raise IntegrityError(f"entries/{index}: {exc.message}") from exc
    if not isinstance(proofs, dict) or set(proofs) != set(last):
        raise IntegrityError("manifest.json: heads proves other items than the bundle's trails")
    for item, index_last in sorted(last.items()):
        siblings = proofs[item]
        if not isinstance(siblings, list):
            raise IntegrityError(f"manifest.json: the heads proof of item {item} is not a list")
        hashes = [canonical_b64(h, f"manifest.json: heads proof of item {item}") for h in siblings]
        try:
            heads.verify(
                root, heads.item_key(item), index_last, leaf_hash(entries[index_last]), hashes
            )
        except CustodyError as exc:
            raise IntegrityError(
                f"the trail of item {item} is not complete: entry {index_last} is not its latest "
                f"in the log of {size} entries ({exc.message})",
                hint="ask for a new bundle; if this one was offered as complete, say so",
            ) from exc
        report.checks.append(
            f"trail of item {item} complete up to the checkpoint: entry {index_last} is its "
            f"latest (heads committed at entry {index})"
        )
