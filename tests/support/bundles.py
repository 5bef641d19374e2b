"""Evidence bundles for the bundle tests: one item's trail in a log of five entries.

The sender registers a key, seals item ``ITEM`` with a signed manifest, sends it; the
recipient receives it; another item's entry sits in between, so a bundle leaves an entry
of the log out. :func:`bundle` makes the bundle of that trail for any signed-manifest
envelope, with the ``item:sealed`` entry logging ``manifest_sha256`` of the manifest
inside it, as the server logs what a sender reports.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from custody.bundle import build_bundle
from custody.crypto.manifest import SIGNATURE_CONTEXT, Manifest, SignedManifest
from custody.crypto.signing import SigningKey
from custody.ledger import note
from custody.ledger.checkpoint import Checkpoint, sign_checkpoint
from custody.ledger.entry import Entry, PrevRef
from custody.ledger.merkle import MemoryTree, inclusion_proof, leaf_hash

ORIGIN = "custody.example/ledger"
LOG = note.Signer(ORIGIN, SigningKey(bytes(range(32))))
SENDER = "0b7c8a3e-4b7f-4c59-9d59-2b0d3c4e5f60"
SENDER_KEY = SigningKey(bytes(range(1, 33)))
RECIPIENT = "5d1f0c2a-8e3b-4a7d-9c6e-1f2a3b4c5d6e"
ITEM = "ca8a96d9-3f1e-4c2b-8a7d-6e5f4d3c2b1a"
TRANSFER = "abc98e46-1d2c-4b3a-9e8f-7a6b5c4d3e2f"
CASE = "7274fc1a-2b3c-4d5e-8f9a-0b1c2d3e4f5a"  # the log names a case by its id
CASE_URN = "47TV0000001"  # the manifest, by its URN
CONTENT = b"interview recording bytes"
CIPHERTEXT_SIZE = 250
CIPHERTEXT_SHA256 = hashlib.sha256(b"the ciphertext").hexdigest()
T = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def manifest(**changes: Any) -> Manifest:
    """The manifest the sender signs for ``ITEM``; ``changes`` replace fields."""
    values: dict[str, Any] = {
        "item": ITEM,
        "transfer": TRANSFER,
        "case": CASE_URN,
        "file_name": "interview.mp4",
        "size": len(CONTENT),
        "sha256": hashlib.sha256(CONTENT).hexdigest(),
        "ciphertext_size": CIPHERTEXT_SIZE,
        "ciphertext_sha256": CIPHERTEXT_SHA256,
        "item_recipient": "age1qmp7qqg4mm76nt3kzmep25t8hlfwz20yaurdsa33j7mpu6wyaf7s7fjmfm",
        "sender": SENDER,
        "signing_key": SENDER_KEY.public_key.to_b64(),
        "created_at": "2026-03-01T08:59:00Z",
    }
    values.update(changes)
    return Manifest(**values)


def envelope(manifest_bytes: bytes | None = None) -> bytes:
    """The signed-manifest envelope the sender makes: ``manifest_bytes`` (any bytes, so a
    hostile sender's JSON too) signed by the sender's real key."""
    if manifest_bytes is None:
        return SignedManifest.sign(manifest(), SENDER_KEY).to_bytes()
    signature = SENDER_KEY.sign(SIGNATURE_CONTEXT + manifest_bytes)
    return SignedManifest(manifest_bytes, signature).to_bytes()


def manifest_bytes_in(envelope_bytes: bytes) -> bytes:
    """The manifest inside an envelope, read leniently: what a hostile sender reports."""
    try:
        document = json.loads(envelope_bytes)
        return base64.b64decode(document["manifest"])
    except (ValueError, KeyError, TypeError, RecursionError):
        return b""


def bundle(envelope_bytes: bytes | None = None, *, seal: dict[str, Any] | None = None) -> bytes:
    """The bundle of ``ITEM``'s trail, carrying ``envelope_bytes`` as its signed manifest.

    ``seal``: fields of the ``item:sealed`` entry's data to replace (what the server logged).
    """
    envelope_bytes = envelope() if envelope_bytes is None else envelope_bytes
    key_b64 = SENDER_KEY.public_key.to_b64()
    sealed = {
        "manifest_sha256": hashlib.sha256(manifest_bytes_in(envelope_bytes)).hexdigest(),
        "ciphertext_sha256": CIPHERTEXT_SHA256,
        "ciphertext_size": CIPHERTEXT_SIZE,
        "signing_key": key_b64,
        "readers": [RECIPIENT, SENDER],
        "recovery": [],
        **(seal or {}),
    }
    tree, entries, last = MemoryTree(), [], None
    events = [
        Entry("key:registered", T, SENDER, data={"signing_key": key_b64}),
        Entry("item:sealed", T, SENDER, case=CASE, transfer=TRANSFER, item=ITEM, data=sealed),
        Entry("transfer:sent", T, SENDER, case=CASE, transfer=TRANSFER, item=ITEM),
        Entry("item:created", T, "system", item="other"),
        Entry("item:received", T, RECIPIENT, case=CASE, transfer=TRANSFER, item=ITEM),
    ]
    for plain in events:
        event = plain.with_prev(last) if plain.item == ITEM else plain
        raw = event.to_bytes()
        index = tree.append(raw)
        if event.item == ITEM:
            last = PrevRef(index, leaf_hash(raw).hex())
        if event.item != "other":
            entries.append((index, raw))
    signed = sign_checkpoint(Checkpoint(ORIGIN, tree.size, tree.root()), LOG)
    rows = [(i, raw, inclusion_proof(tree, i, tree.size)) for i, raw in entries]
    item = {
        "item": ITEM,
        "signed_manifest": base64.b64encode(envelope_bytes).decode(),
        "signing_key": key_b64,
    }
    return build_bundle(ORIGIN, signed, rows, [item])


BUNDLE = bundle()
