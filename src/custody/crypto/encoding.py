"""Base64 read strictly (RFC 4648 §4): each byte string has one spelling, and only it is read.

Age's ASCII armor, signed notes, checkpoints, tlog-proof files and evidence bundles all
refuse a second spelling of the same bytes, so nothing signed or hashed is malleable.
"""

from __future__ import annotations

import base64
import binascii


def b64decode_strict(text: str) -> bytes:
    """Standard padded base64 in its one canonical spelling; otherwise ``ValueError`` saying
    "not base64" or "not canonical base64"."""
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise ValueError("not base64") from exc
    if base64.b64encode(raw).decode("ascii") != text:
        raise ValueError("not canonical base64")
    return raw
