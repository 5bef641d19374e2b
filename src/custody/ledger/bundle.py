"""The evidence bundle v1: a zip that proves an item's custody trail offline.

``manifest.json``, ``checkpoint`` (the signed note, verbatim), ``entries/<N>``
(exact entry bytes) and ``proofs/<N>.tlog-proof`` (C2SP tlog-proof@v1). A
verifier needs only the log's verifier key. Every failure is an
:class:`IntegrityError` naming the file or entry index that failed; reading
the zip itself, a hostile input, is :mod:`custody.ledger.bundle_zip`'s job.

``manifest.json``'s optional ``heads`` ({"index": N, "items": {item: [base64
hashes]}}) proves each item's trail complete up to the checkpoint: entry N, the
checkpoint's last, is a ``ledger:heads`` entry, and each proof shows that the
item's latest entry in the log is its last entry here (:mod:`custody.ledger.heads`).
Without it, a bundle proves its entries and their chain, not that none follows.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from typing import Any, BinaryIO

from custody.errors import CustodyError, IntegrityError
from custody.ledger import note
from custody.ledger.bundle_checks import BundleReport, check_heads, check_items, check_trail
from custody.ledger.bundle_zip import read_members
from custody.ledger.checkpoint import Checkpoint, open_checkpoint
from custody.ledger.entry import Entry
from custody.ledger.merkle import leaf_hash
from custody.ledger.proof_file import format_proof, parse_proof, verify_proof_file

FORMAT = "custody-bundle/v1"
_MANIFEST_KEYS = {"format", "origin", "items", "entries", "heads"}
_ZIP_TIME = (2000, 1, 1, 0, 0, 0)  # fixed, so the same bundle is the same bytes

__all__ = ["FORMAT", "BundleReport", "build_bundle", "verify_bundle"]


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def build_bundle(
    origin: str,
    checkpoint_note: bytes,
    entries: Sequence[tuple[int, bytes, Sequence[bytes]]],
    items: Sequence[dict[str, Any]],
    head_proofs: Mapping[str, Sequence[bytes]] | None = None,
) -> bytes:
    """Zip ``entries`` (index, bytes, inclusion proof) with the checkpoint they prove against,
    and, given ``head_proofs`` (item -> map proof), the proof that each trail is complete."""
    listed = []
    for index, body, _ in sorted(entries, key=lambda e: e[0]):
        entry = Entry.from_bytes(body)
        listed.append(
            {
                "index": index,
                "leaf_hash": leaf_hash(body).hex(),
                "type": entry.type,
                "item": entry.item,
            }
        )
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "origin": origin,
        "items": list(items),
        "entries": listed,
    }
    if head_proofs is not None:
        text = checkpoint_note.decode("utf-8").split("\n\n", 1)[0] + "\n"
        manifest["heads"] = {
            "index": Checkpoint.parse(text).size - 1,
            "items": {
                item: [base64.b64encode(h).decode() for h in proof]
                for item, proof in sorted(head_proofs.items())
            },
        }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        members = [("manifest.json", _canonical(manifest)), ("checkpoint", checkpoint_note)]
        for index, body, proof in sorted(entries, key=lambda e: e[0]):
            members.append((f"entries/{index}", body))
            members.append(
                (f"proofs/{index}.tlog-proof", format_proof(index, proof, checkpoint_note))
            )
        for name, data in members:
            zf.writestr(zipfile.ZipInfo(name, _ZIP_TIME), data)
    return out.getvalue()


def _load_manifest(raw: bytes) -> dict[str, Any]:
    try:
        manifest = json.loads(raw)
    except ValueError as exc:
        raise IntegrityError("manifest.json is not valid JSON") from exc
    if not isinstance(manifest, dict) or _canonical(manifest) != raw:
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


def verify_bundle(zip_bytes: bytes, vkey: str, *, content: BinaryIO | None = None) -> BundleReport:
    """Check everything the bundle claims (see the module docstring); the report on success."""
    try:
        verifier = note.Verifier.from_vkey(vkey)
    except CustodyError as exc:
        raise IntegrityError(f"the log key is not a valid verifier key: {exc.message}") from exc
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
    except CustodyError as exc:
        raise IntegrityError(f"checkpoint: {exc.message}") from exc
    entries = _verify_entries(files, cp, verifier)
    report = BundleReport(origin=cp.origin, size=cp.size, root_hash=cp.root_hash)
    report.checks.append(f"checkpoint signed by {verifier.vkey} (size {cp.size})")
    report.checks.append(f"{len(entries)} entries included in the checkpoint")
    check_trail(manifest["entries"], entries, report)
    check_heads(manifest.get("heads"), entries, cp.size, report)
    digest = None if content is None else _sha256(content)
    check_items(manifest["items"], entries, report, digest)
    return report


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
