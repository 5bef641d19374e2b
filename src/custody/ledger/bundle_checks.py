"""The content checks of an evidence bundle: the trail and the sealed items.

:mod:`custody.ledger.bundle` has already proven every entry is in the signed
log; this module checks what the entries say: the manifest lists exactly
them, each item's ``prev`` chain is complete, and each sealed item's signed
manifest matches its ``item:sealed`` entry and its sender's registered key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from custody.crypto.signing import VerifyKey
from custody.errors import CustodyError, IntegrityError
from custody.ledger import heads
from custody.ledger.entry import Entry, PrevRef
from custody.ledger.merkle import leaf_hash

MANIFEST_CONTEXT = b"custody-manifest/v1\n"  # what a SignedManifest signature covers


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


def _parse(index: int, raw: bytes) -> Entry:
    try:
        return Entry.from_bytes(raw)
    except CustodyError as exc:
        raise IntegrityError(f"entries/{index}: not a custody entry: {exc.message}") from exc


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
        entry = _parse(row["index"], raw)
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
        entry = _parse(index, entries[index])
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


def check_heads(part: Any, entries: dict[int, bytes], size: int, report: BundleReport) -> None:
    """Each item's last entry in the bundle is its latest in the log up to the checkpoint."""
    last: dict[str, int] = {}
    for index in sorted(entries):
        item = _parse(index, entries[index]).item
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
    sealing = _parse(index, entries[index])
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
        hashes = [_b64(h, f"manifest.json: heads proof of item {item}") for h in siblings]
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


def _b64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise IntegrityError(f"{what} is not a base64 string")
    try:
        raw = base64.b64decode(value, validate=True)
    except binascii.Error as exc:
        raise IntegrityError(f"{what} is not base64") from exc
    if base64.b64encode(raw).decode() != value:
        raise IntegrityError(f"{what} is not canonical base64")
    return raw


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        obj = json.loads(raw)
    except ValueError as exc:
        raise IntegrityError(f"{what} is not JSON") from exc
    if not isinstance(obj, dict):
        raise IntegrityError(f"{what} is not a JSON object")
    return obj


def check_items(
    items: list[Any], entries: dict[int, bytes], report: BundleReport, digest: str | None
) -> None:
    """Each sealed item's signed manifest is the one logged, signed by a registered key."""
    parsed = {i: _parse(i, raw) for i, raw in entries.items()}
    for pos, item in enumerate(items):
        keys = set(item) if isinstance(item, dict) else set()
        if keys not in ({"item"}, {"item", "signed_manifest", "signing_key"}):
            raise IntegrityError(f"manifest.json: items[{pos}] is malformed")
        if "signed_manifest" not in keys:
            continue
        item_id = item["item"]
        what = f"manifest.json: item {item_id}"
        sealed = [(i, e) for i, e in sorted(parsed.items()) if e.item == item_id]
        sealed = [(i, e) for i, e in sealed if e.type == "item:sealed"]
        if not sealed:
            raise IntegrityError(f"{what}: the bundle has no item:sealed entry for it")
        seal_index, seal = sealed[0]
        envelope = _json_object(_b64(item["signed_manifest"], what), f"{what}: signed manifest")
        if set(envelope) != {"manifest", "signature"}:
            raise IntegrityError(f"{what}: signed manifest is not {{manifest, signature}}")
        body = _b64(envelope["manifest"], f"{what}: manifest")
        signature = _b64(envelope["signature"], f"{what}: signature")
        if hashlib.sha256(body).hexdigest() != seal.data.get("manifest_sha256"):
            raise IntegrityError(f"{what}: manifest hash differs from entry {seal_index}")
        sender = _json_object(body, f"{what}: manifest").get("sender")
        key = _b64(item["signing_key"], f"{what}: signing key")
        registered = [
            i
            for i, e in sorted(parsed.items())
            if e.type == "key:registered"
            and e.actor == sender
            and i < seal_index
            and e.data.get("signing_key") == item["signing_key"]
        ]
        if not registered:
            raise IntegrityError(
                f"{what}: signing key is not registered to sender {sender} "
                f"before entry {seal_index}"
            )
        try:
            VerifyKey(key).verify(signature, MANIFEST_CONTEXT + body)
        except CustodyError as exc:
            raise IntegrityError(f"{what}: manifest signature does not verify") from exc
        report.checks.append(
            f"item {item_id}: manifest signed by sender {sender} (key logged at entry "
            f"{registered[-1]}), hash logged at entry {seal_index}"
        )
        if digest is not None and _json_object(body, what).get("sha256") == digest:
            report.content_item = item_id
    if digest is not None:
        if report.content_item is None:
            raise IntegrityError("content: its SHA-256 matches no sealed item in the bundle")
        report.checks.append(f"content matches item {report.content_item}")
