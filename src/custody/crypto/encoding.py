"""Encodings read strictly, so that nothing signed or hashed has two readings.

Base64 (RFC 4648 §4) in its one canonical spelling: age's ASCII armor, signed notes,
checkpoints, tlog-proof files and evidence bundles refuse a second spelling of the same
bytes. JSON with integers only and no key twice: ledger entries and signed manifests.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any


def b64decode_strict(text: str) -> bytes:
    """Standard padded base64 in its one canonical spelling; otherwise ``ValueError`` saying
    "not base64" or "not canonical base64"."""
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError as exc:  # binascii.Error, or a character outside ASCII
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


class TooDeep(ValueError):
    """A JSON document nested deeper than :data:`MAX_DEPTH` arrays and objects."""

    def __init__(self) -> None:
        super().__init__(f"nested deeper than {MAX_DEPTH} levels")


class NotText(ValueError):
    """A JSON string escapes half of a surrogate pair (``"\\ud800"``): no Unicode text, and
    no UTF-8 spelling, so a name or a key in it could not be written, shown or compared."""

    def __init__(self) -> None:
        super().__init__("a string is not Unicode text (a lone surrogate)")


# Nothing custody signs nests deeper than a few levels; the limit is far above that and far
# below the interpreter's recursion limit, the same in every reader (js/src/json.ts).
MAX_DEPTH = 64
_SURROGATE_ESCAPE = re.compile("\\\\u[dD][89a-fA-F]|[\ud800-\udfff]")  # escaped or raw


def json_strict(text: str) -> Any:
    """``text`` as JSON, if it has integers only, no object repeats a key, every string is
    Unicode text and nothing nests deeper than :data:`MAX_DEPTH`; otherwise a ``ValueError``
    (:class:`NotAnInteger`, :class:`RepeatedKey`, :class:`TooDeep`, :class:`NotText` or the
    decoder's own). Depth and text are checked once the whole document has parsed."""
    try:
        document = json.loads(
            text,
            parse_float=_not_an_integer,
            parse_constant=_not_an_integer,
            object_pairs_hook=_each_key_once,
        )
    except RecursionError as exc:
        raise TooDeep from exc
    # The walk is needed only where it could find something: a surrogate escape somewhere,
    # or more brackets than the depth allowed (a monitor parses millions of entries).
    if _SURROGATE_ESCAPE.search(text) or text.count("[") + text.count("{") > MAX_DEPTH:
        _check_tree(document)
    return document


def _check_tree(document: Any) -> None:
    """:class:`TooDeep` if ``document`` nests too deeply, else :class:`NotText` if a string
    in it (a key or a value) is not Unicode text; without recursion."""
    too_deep = not_text = False
    pending: list[tuple[Any, int]] = [(document, 0)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            too_deep |= depth >= MAX_DEPTH
            not_text |= not all(map(_is_text, value))
            pending.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            too_deep |= depth >= MAX_DEPTH
            pending.extend((v, depth + 1) for v in value)
        elif isinstance(value, str):
            not_text |= not _is_text(value)
    if too_deep:
        raise TooDeep
    if not_text:
        raise NotText


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _not_an_integer(text: str) -> Any:
    raise NotAnInteger(text)


def _each_key_once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        raise RepeatedKey
    return document
