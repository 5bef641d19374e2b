"""Assemble an evidence bundle: the server's entries and proofs, plus the signed manifests
that only a reader can open (the server never saw them in clear)."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from custody.bundle import build_bundle, verify_bundle
from custody.client.http import Api
from custody.client.trust import LogView
from custody.crypto import age
from custody.crypto.items import unwrap
from custody.crypto.keys import UserKeys
from custody.crypto.manifest import SignedManifest
from custody.errors import IntegrityError
from custody.ledger.entry import Entry
from custody.ledger.note import Verifier


def make_bundle(api: Api, keys: UserKeys, ref: str, verifier: Verifier) -> tuple[bytes, int]:
    """The bundle's bytes and how many entries it proves, checked against the pinned log key,
    and its checkpoint against the largest tree this client verified before."""
    material = api.get(f"/api/v1/bundle/{ref}")
    LogView(verifier).accept(api, material["checkpoint"].encode("utf-8"))
    entries = [
        (e["index"], base64.b64decode(e["entry"]), [base64.b64decode(h) for h in e["proof"]])
        for e in material["entries"]
    ]
    checkpoint = material["checkpoint"].encode("utf-8")
    items: list[dict[str, Any]] = []
    for item_id, sealed in sorted(material["sealed_manifests"].items()):
        wrap = material["wraps"].get(item_id)
        if wrap is None:
            continue  # not a reader of this item: its trail is proven, its manifest not included
        item_key = unwrap(base64.b64decode(wrap), keys.identity)
        envelope = age.decrypt(base64.b64decode(sealed), [item_key])
        signed = SignedManifest.from_bytes(envelope)
        manifest = json.loads(signed.manifest_bytes)
        _check_sealed_entry(entries, item_id, signed.manifest_bytes)
        items.append(
            {
                "item": item_id,
                "signed_manifest": base64.b64encode(envelope).decode(),
                "signing_key": manifest["signing_key"],
            }
        )
    head_proofs = {
        item: [base64.b64decode(h) for h in proof]
        for item, proof in material["head_proofs"].items()
    }
    bundle = build_bundle(material["origin"], checkpoint, entries, items, head_proofs)
    verify_bundle(bundle, verifier.vkey)  # before anyone relies on it
    return bundle, len(entries)


def _check_sealed_entry(
    entries: list[tuple[int, bytes, list[bytes]]], item_id: str, manifest_bytes: bytes
) -> None:
    digest = hashlib.sha256(manifest_bytes).hexdigest()
    for _, body, _ in entries:
        entry = Entry.from_bytes(body)
        if (
            entry.item == item_id
            and entry.type == "item:sealed"
            and entry.data.get("manifest_sha256") == digest
        ):
            return
    raise IntegrityError(f"item {item_id}: the ledger does not record this manifest")
