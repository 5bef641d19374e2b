"""Each sealed item's signed manifest, checked as the receiving client checks it.

A court's verifier and a recipient's client must not disagree about the same
bytes, so there is one parser: the envelope is read by
:meth:`SignedManifest.from_bytes` and the manifest by :meth:`SignedManifest.verify`
(strict JSON: no floats, no repeated keys, exactly the manifest's fields), as
``custody receive`` reads them, and what it refuses is refused here with the
same message: "item I failed verification: <reason>".

What the client compares with the server's record of the item (id, transfer,
sender, manifest hash, ciphertext size), the verifier compares with the item's
``item:sealed`` entry, in the same order and words; the ciphertext's SHA-256
too, which the client checks once it has downloaded it. Not the case: the
manifest names it by its URN, which the log never holds. The signing key must
be registered to the sender in the log before the seal.
"""

from __future__ import annotations

from typing import Any

from custody.bundle.trail import BundleReport, canonical_b64, parse_entry
from custody.crypto.manifest import Manifest, Sealed, open_sealed
from custody.crypto.signing import VerifyKey
from custody.errors import CustodyError, IntegrityError
from custody.ledger.entry import Entry
from custody.ledger.events import EntryType

__all__ = ["check_items", "open_signed_manifest"]

_REFUSED = (
    "the recipient's client refuses this manifest for the same reason; "
    "ask whoever gave you the bundle, and tell the sender's organisation"
)


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
        sealed = [(i, e) for i, e in sealed if e.type == EntryType.ITEM_SEALED]
        if not sealed:
            raise IntegrityError(f"{what}: the bundle has no item:sealed entry for it")
        seal_index, seal = sealed[0]
        # As the client does before it opens a manifest: the sender's key must be in the log.
        key = _signing_key(item["signing_key"], what)
        registered = [
            i
            for i, e in sorted(parsed.items())
            if e.type == EntryType.KEY_REGISTERED
            and e.actor == seal.actor
            and i < seal_index
            and e.data.get("signing_key") == item["signing_key"]
        ]
        if not registered:
            raise IntegrityError(
                f"{what}: signing key is not registered to sender {seal.actor} "
                f"before entry {seal_index}"
            )
        envelope = canonical_b64(item["signed_manifest"], f"{what}: signed manifest")
        try:
            manifest = open_signed_manifest(envelope, key, seal)
        except CustodyError as exc:
            raise IntegrityError(
                f"item {item_id} failed verification: {exc.message}", hint=_REFUSED
            ) from exc
        report.checks.append(
            f"item {item_id}: manifest signed by sender {manifest.sender} (key logged at entry "
            f"{registered[-1]}), hash logged at entry {seal_index}"
        )
        if digest is not None and manifest.sha256 == digest:
            report.content_item = item_id
    if digest is not None:
        if report.content_item is None:
            raise IntegrityError("content: its SHA-256 matches no sealed item in the bundle")
        report.checks.append(f"content matches item {report.content_item}")


def open_signed_manifest(envelope: bytes, key: VerifyKey, seal: Entry) -> Manifest:
    """The manifest in ``envelope``, if ``key`` signed it and it names what ``seal`` logged.

    The same parser, checks and messages as ``custody receive``
    (:func:`custody.crypto.manifest.open_sealed`, and ``_check_ciphertext`` in
    :mod:`custody.client.receiving`), with the sealing entry standing for the server's
    record of the item (which names the case by its URN, the log by an id: that one
    comparison is the client's alone).
    """
    sealed = Sealed(
        item=seal.item,
        transfer=seal.transfer,
        sender=seal.actor,
        manifest_sha256=seal.data.get("manifest_sha256"),
        ciphertext_size=seal.data.get("ciphertext_size"),
    )
    manifest = open_sealed(envelope, key, sealed)
    if manifest.ciphertext_sha256 != seal.data.get("ciphertext_sha256"):
        raise IntegrityError("the ciphertext is not what the sender signed")
    return manifest


def _signing_key(value: Any, what: str) -> VerifyKey:
    raw = canonical_b64(value, f"{what}: signing key")
    try:
        return VerifyKey(raw)
    except CustodyError as exc:
        raise IntegrityError(f"{what}: signing key is not an Ed25519 public key") from exc
