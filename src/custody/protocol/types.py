"""Field types shared by the wire models."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)


def _decode(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    if not isinstance(value, str):
        raise ValueError("base64 text expected")  # noqa: TRY004 - pydantic wants a ValueError
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as exc:
        raise ValueError("not base64") from exc


# Bytes on the wire as standard base64 (RFC 4648 §4), one line: keys, wraps, proofs.
Blob = Annotated[
    bytes,
    BeforeValidator(_decode),
    PlainSerializer(lambda b: base64.b64encode(b).decode("ascii"), return_type=str),
    WithJsonSchema({"type": "string", "format": "byte"}),
]

# An e-mail address as a person typed it (at most 254 characters, RFC 5321); the services
# normalise it and refuse what is not one.
Email = Annotated[str, Field(max_length=254)]

# A SHA-256 digest as custody writes it: 64 lowercase hex digits.
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", min_length=64, max_length=64)]


class Strict(BaseModel):
    """A request body: unknown fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


class View(BaseModel):
    """A response body, frozen: the services return these as their views, and the client
    parses answers into them (``from_attributes`` lets a view be built from any object)."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    @classmethod
    def of(cls, source: object, **given: Any) -> Self:
        """This view of ``source`` (a row, say): each field is its attribute of the same name,
        unless ``given``; a field with a default may be missing from both."""
        read = {
            name: getattr(source, name)
            for name, field in cls.model_fields.items()
            if name not in given and (field.is_required() or hasattr(source, name))
        }
        return cls.model_validate({**read, **given})
