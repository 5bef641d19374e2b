"""Each sealed item's signed manifest: the one logged, signed by its sender's registered key.

:mod:`custody.bundle.verify` has already proven every entry is in the signed
log; this module checks that each item's signed manifest hashes to the
``manifest_sha256`` of its ``item:sealed`` entry and verifies with a signing
key the log shows was registered by the sender before the seal.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from custody.bundle.trail import BundleReport, canonical_b64, parse_entry
from custody.crypto.signing import VerifyKey
from custody.errors import CustodyError, IntegrityError

MANIFEST_CONTEXT = b"custody-manifest/v1\n"  # what a SignedManifest signature covers

__all__ = ["check_items"]


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
    parsed = {i: parse_entry(i, raw) for i, raw in entries.items()}
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
        envelope = _json_object(
            canonical_b64(item["signed_manifest"], what), f"{what}: signed manifest"
        )
        if set(envelope) != {"manifest", "signature"}:
            raise IntegrityError(f"{what}: signed manifest is not {{manifest, signature}}")
        body = canonical_b64(envelope["manifest"], f"{what}: manifest")
        signature = canonical_b64(envelope["signature"], f"{what}: signature")
        if hashlib.sha256(body).hexdigest() != seal.data.get("manifest_sha256"):
            raise IntegrityError(f"{what}: manifest hash differs from entry {seal_index}")
        sender = _json_object(body, f"{what}: manifest").get("sender")
        key = canonical_b64(item["signing_key"], f"{what}: signing key")
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
