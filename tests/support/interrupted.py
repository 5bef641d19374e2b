"""What a ``custody receive`` killed mid-way leaves on the reader's machine, made by hand for the
tests of resuming it (the client's, in process, and the real CLI's)."""

from __future__ import annotations

from pathlib import Path


def payload_start(blob: bytes) -> int:
    """Where an age file's payload nonce ends: just past the header's MAC line, plus 16."""
    mac = blob.index(b"\n---")
    return blob.index(b"\n", mac + 1) + 1 + 16


def left_behind(home: Path, item: str, blob: bytes, kept: bytes, out: Path) -> tuple[Path, Path]:
    """The plaintext written so far (``kept``) in the temporary file beside the target, and
    the age header and payload nonce of ``blob`` in ``downloads``: their paths."""
    head = home / "downloads" / f"{item}.age.head"
    head.parent.mkdir(parents=True, exist_ok=True)
    head.write_bytes(blob[: payload_start(blob)])
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".custody-{item}.tmp"
    tmp.write_bytes(kept)
    return head, tmp
