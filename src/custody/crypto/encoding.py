"""Encodings read strictly, so that nothing signed or hashed has two readings.

Base64 (RFC 4648 §4) in its one canonical spelling: age's ASCII armor, signed notes,
checkpoints, tlog-proof files and evidence bundles refuse a second spelling of the same
bytes. JSON with integers only and no key twice: ledger entries and signed manifests.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any


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


class NotAnInteger(ValueError):
    """A JSON number with a fraction or an exponent, or NaN or Infinity."""

    def __init__(self, text: str) -> None:
        super().__init__(f"number {text} is not an integer")
        self.text = text


class RepeatedKey(ValueError):
    """A JSON object names one key twice (which of the two would count?)."""

    def __init__(self) -> None:
        super().__init__("duplicate key")


def json_strict(text: str) -> Any:
    """``text`` as JSON, if it has integers only and no object repeats a key; otherwise a
    ``ValueError`` (:class:`NotAnInteger`, :class:`RepeatedKey` or the decoder's own).
    Deep nesting raises ``RecursionError``."""
    return json.loads(
        text,
        parse_float=_not_an_integer,
        parse_constant=_not_an_integer,
        object_pairs_hook=_each_key_once,
    )


def _not_an_integer(text: str) -> Any:
    raise NotAnInteger(text)


def _each_key_once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        raise RepeatedKey
    return document
