"""Making an evidence bundle: the log's entries and proofs, laid out as the format says.

``manifest.json`` lists the entries and carries the items' signed manifests and
the heads proofs; ``checkpoint`` is the signed note, verbatim; ``entries/<N>``
the exact entry bytes; ``proofs/<N>.tlog-proof`` each entry's C2SP
tlog-proof@v1 against that checkpoint. Every member is deflated, and the same
inputs make the same bytes.
"""

from __future__ import annotations

import base64
import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from typing import Any

from custody.ledger.checkpoint import Checkpoint
from custody.ledger.entry import Entry
from custody.ledger.merkle import leaf_hash
from custody.ledger.proof_file import format_proof

FORMAT = "custody-bundle/v1"
# Fixed, so the same inputs make the same bytes (with the same zlib): the time, the
# compression level, and the system zipfile would take from the platform.
_ZIP_TIME = (2000, 1, 1, 0, 0, 0)
_LEVEL = 6
_UNIX = 3  # APPNOTE 4.4.2.2: "version made by" host system

__all__ = ["FORMAT", "build_bundle", "canonical"]


def canonical(obj: Any) -> bytes:
    """Sorted keys, no spaces, ASCII: the one way ``manifest.json`` is written."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def build_bundle(
    origin: str,
    checkpoint_note: bytes,
    entries: Sequence[tuple[int, bytes, Sequence[bytes]]],
    items: Sequence[dict[str, Any]],
    head_proofs: Mapping[str, Sequence[bytes]] | None = None,
    names: bytes | None = None,
) -> bytes:
    """Zip ``entries`` (index, bytes, inclusion proof) with the checkpoint they prove against,
    and, given ``head_proofs`` (item -> map proof), the proof that each trail is complete;
    ``names``, the server's signed names file (:mod:`custody.bundle.names`), goes in verbatim
    as ``names.json``."""
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
    with zipfile.ZipFile(out, "w") as zf:
        members = [("manifest.json", canonical(manifest)), ("checkpoint", checkpoint_note)]
        if names is not None:
            members.append(("names.json", names))
        for index, body, proof in sorted(entries, key=lambda e: e[0]):
            members.append((f"entries/{index}", body))
            members.append(
                (f"proofs/{index}.tlog-proof", format_proof(index, proof, checkpoint_note))
            )
        for name, data in members:
            info = zipfile.ZipInfo(name, _ZIP_TIME)
            info.create_system = _UNIX
            # A ZipInfo carries its own method (stored): the archive's default does not apply.
            zf.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=_LEVEL)
    return out.getvalue()
