"""The error envelope: every error answer is ``{"error": {"code", "message", "hint"?}}``,
its code one of :class:`custody.protocol.codes.ErrorCode`."""

from __future__ import annotations

from pydantic import BaseModel

from custody.protocol.codes import ErrorCode


class ErrorBody(BaseModel):
    code: ErrorCode
    message: str
    hint: str | None = None


class ErrorEnvelope(BaseModel):
    """What every error answer of the API carries."""

    error: ErrorBody


def envelope(code: ErrorCode, message: str, hint: str | None = None) -> dict[str, object]:
    """The envelope as plain JSON (for the places that write bytes themselves)."""
    body: dict[str, object] = {"code": code.value, "message": message}
    if hint:
        body["hint"] = hint
    return {"error": body}
