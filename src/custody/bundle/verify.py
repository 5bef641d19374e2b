"""Verifying an evidence bundle offline, with nothing but the log's verifier key.

The order, each step before the next: the zip is read as the hostile input it
is (:mod:`custody.bundle.archive`); ``checkpoint`` is a signed note by the given
key; every ``entries/<N>`` is proven by ``proofs/<N>.tlog-proof`` to be leaf N
of that checkpoint's tree; then what the entries say is checked: every list of
people spelled out in parts (:mod:`custody.ledger.people`), the listing and each
item's trail (:mod:`custody.bundle.trail`), each item's signed
manifest (:mod:`custody.bundle.items`), and, if the bundle has one, the
operator's signed ``names.json`` (:mod:`custody.bundle.names`). Every failure is
an :class:`IntegrityError` naming the file or entry index that failed.

``manifest.json``'s optional ``heads`` ({"index": N, "items": {item: [base64
hashes]}}) proves each item's trail complete up to the checkpoint: entry N, the
checkpoint's last, is a ``ledger:heads`` entry, and each proof shows that the
item's latest entry in the log is its last entry here (:mod:`custody.ledger.heads`).
Without it, a bundle proves its entries and their chain, not that none follows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any, BinaryIO

from custody.bundle.archive import read_members
from custody.bundle.build import FORMAT, canonical
from custody.bundle.items import check_items
from custody.bundle.names import FORMAT as NAMES_FORMAT
from custody.bundle.names import open_names
from custody.bundle.trail import BundleReport, check_heads, check_people, check_trail
from custody.errors import CustodyError, IntegrityError, InvalidInput
from custody.ledger import note
from custody.ledger.checkpoint import Checkpoint, open_checkpoint
from custody.ledger.cosignature import CosignatureVerifier, open_cosigned
from custody.ledger.proof_file import parse_proof, verify_proof_file

_MANIFEST_KEYS = {"format", "origin", "items", "entries", "heads"}

__all__ = ["verify_bundle"]


def verify_bundle(
    zip_bytes: bytes,
    vkey: str,
    *,
    content: BinaryIO | None = None,
    witnesses: Sequence[str] = (),
    quorum: int | None = None,
) -> BundleReport:
    """Check everything the bundle claims (see the module docstring); the report on success.

    With ``witnesses`` (their verifier keys), the checkpoint must also carry cosignatures of
    at least ``quorum`` of them (all of them if no quorum is given)."""
    try:
        verifier = note.Verifier.from_vkey(vkey)
    except CustodyError as exc:
        raise IntegrityError(f"the log key is not a valid verifier key: {exc.message}") from exc
    try:
        cosigners = [CosignatureVerifier.from_vkey(w) for w in witnesses]
    except CustodyError as exc:
        raise InvalidInput(f"--witness: {exc.message}") from exc
    need = len(cosigners) if quorum is None else quorum
    if not 0 <= need <= len(cosigners):
        raise InvalidInput(f"--quorum {need}: more than the {len(cosigners)} witnesses given")
    files = read_members(zip_bytes)
    for required in ("manifest.json", "checkpoint"):
        if required not in files:
            raise IntegrityError(f"the bundle has no {required}")
    manifest = _load_manifest(files["manifest.json"])
    if manifest["origin"] != verifier.name:
        raise IntegrityError(
            f"manifest.json: origin {manifest['origin']!r} is not the log key's {verifier.name!r}"
        )
    try:
        cp = open_checkpoint(files["checkpoint"], verifier, verifier.name)
        cosigned = open_cosigned(files["checkpoint"], verifier, cosigners, need)
    except CustodyError as exc:
        raise IntegrityError(f"checkpoint: {exc.message}") from exc
    entries = _verify_entries(files, cp, verifier)
    report = BundleReport(origin=cp.origin, size=cp.size, root_hash=cp.root_hash)
    report.checks.append(f"checkpoint signed by {verifier.vkey} (size {cp.size})")
    if cosigners:
        names = ", ".join(name for name, _ in cosigned.witnesses)
        report.checks.append(
            f"checkpoint cosigned by {len(cosigned.witnesses)} of {len(cosigners)} witnesses "
            f"(quorum {need}): {names or 'none needed'}"
        )
    report.checks.append(f"{len(entries)} entries included in the checkpoint")
    check_people(entries, report)
    check_trail(manifest["entries"], entries, report)
    check_heads(manifest.get("heads"), entries, cp.size, report)
    digest = None if content is None else _sha256(content)
    check_items(manifest["items"], entries, report, digest)
    if "names.json" in files:
        attested = report.names = open_names(files["names.json"], verifier)
        report.checks.append(
            f"names.json: {len(attested.actors)} actor(s) named, signed {attested.issued_at} "
            f"by the log's key {verifier.vkey} in the {NAMES_FORMAT} context"
        )
        report.caveats.append(
            "who each actor is (names.json) is the operator's attestation, signed by its server; "
            "the log proves the actor ids, not the names"
        )
    return report


def _load_manifest(raw: bytes) -> dict[str, Any]:
    try:
        manifest = json.loads(raw)
    except ValueError as exc:
        raise IntegrityError("manifest.json is not valid JSON") from exc
    if not isinstance(manifest, dict) or canonical(manifest) != raw:
        raise IntegrityError("manifest.json is not a canonical JSON object")
    if not {"format", "origin", "items", "entries"} <= set(manifest) <= _MANIFEST_KEYS:
        raise IntegrityError(
            "manifest.json has keys other than format, origin, items, entries (and heads)"
        )
    if manifest["format"] != FORMAT:
        raise IntegrityError(f"manifest.json: format is not {FORMAT!r}")
    if not isinstance(manifest["items"], list) or not isinstance(manifest["entries"], list):
        raise IntegrityError("manifest.json: items and entries are lists")
    return manifest


def _verify_entries(
    files: dict[str, bytes], cp: Checkpoint, verifier: note.Verifier
) -> dict[int, bytes]:
    entries: dict[int, bytes] = {}
    for name in sorted(files):
        if not name.startswith("entries/"):
            continue
        index = int(name.removeprefix("entries/"))
        proof_name = f"proofs/{index}.tlog-proof"
        if proof_name not in files:
            raise IntegrityError(f"entry {index}: the bundle has no {proof_name}")
        proof_bytes = files[proof_name]
        try:
            if parse_proof(proof_bytes).index != index:
                raise IntegrityError(f"{proof_name}: proves another index")
            if parse_proof(proof_bytes).checkpoint != files["checkpoint"]:
                raise IntegrityError(f"{proof_name}: its checkpoint differs from the bundle's")
            verify_proof_file(files[name], proof_bytes, verifier, cp.origin)
        except CustodyError as exc:
            raise IntegrityError(
                f"entry {index} ({name}, {proof_name}): not proven: {exc.message}"
            ) from exc
        entries[index] = files[name]
    for name in files:
        if name.startswith("proofs/") and f"entries/{name[7:-11]}" not in files:
            raise IntegrityError(f"{name}: no matching entries/ file")
    return entries


def _sha256(content: BinaryIO) -> str:
    h = hashlib.sha256()
    for chunk in iter(lambda: content.read(1 << 20), b""):
        h.update(chunk)
    return h.hexdigest()
