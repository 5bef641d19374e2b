"""Assemble an evidence bundle: the server's entries and proofs, plus the signed manifests
that only a reader can open (the server never saw them in clear)."""

from __future__ import annotations

import base64
from typing import Any

from custody.bundle import build_bundle, verify_bundle
from custody.bundle.names import open_names
from custody.client.http import Api
from custody.client.trust import LogView, await_quorum
from custody.crypto import age
from custody.crypto.items import unwrap
from custody.crypto.keys import UserKeys
from custody.errors import IntegrityError
from custody.ledger.entry import Entry
from custody.ledger.events import EntryType
from custody.ledger.note import Verifier
from custody.protocol.ledger import BundleOut, NamesOut


def make_bundle(
    api: Api, keys: UserKeys, ref: str, verifier: Verifier, *, names: bool = False
) -> tuple[bytes, int]:
    """The bundle's bytes and how many entries it proves, checked against the pinned log key,
    and its checkpoint against the largest tree this client verified before. With ``names``,
    the server's signed names of the trail's actors go in as ``names.json``, once their
    signature by the pinned key verifies."""
    view = LogView(verifier)

    def fetch() -> BundleOut:
        material = api.get(f"/api/v1/bundle/{ref}", BundleOut)
        view.accept(api, material.checkpoint.encode("utf-8"))
        return material

    material = await_quorum(fetch)  # a bundle seals a new checkpoint: witnesses need a moment
    checkpoint = material.checkpoint.encode("utf-8")
    entries = [(e.index, e.entry, e.proof) for e in material.entries]
    items: list[dict[str, Any]] = []
    for item_id, sealed in sorted(material.sealed_manifests.items()):
        wrap = material.wraps.get(item_id)
        if wrap is None:
            continue  # not a reader of this item: its trail is proven, its manifest not included
        item_key = unwrap(wrap, keys.identity)
        envelope = age.decrypt(sealed, [item_key])
        # Not parsed here: verify_bundle reads it below with the parser custody receive uses.
        items.append(
            {
                "item": item_id,
                "signed_manifest": base64.b64encode(envelope).decode(),
                "signing_key": _sealing_key(entries, item_id),
            }
        )
    attested = None
    if names:
        attested = api.get(f"/api/v1/bundle/{ref}/names", NamesOut).names.encode("utf-8")
        open_names(attested, verifier)  # the pinned log key's, or refused here
    bundle = build_bundle(
        material.origin, checkpoint, entries, items, material.head_proofs, names=attested
    )
    verify_bundle(bundle, verifier.vkey)  # before anyone relies on it
    return bundle, len(entries)


def _sealing_key(entries: list[tuple[int, bytes, list[bytes]]], item_id: str) -> str:
    """The signing key the log recorded when the item was sealed: the sender's, then."""
    for _, body, _ in entries:
        entry = Entry.from_bytes(body)
        if entry.item == item_id and entry.type == EntryType.ITEM_SEALED:
            key = entry.data.get("signing_key")
            if isinstance(key, str):
                return key
    raise IntegrityError(f"item {item_id}: the ledger does not record its sealing")
