"""Request and response bodies of the second-factor, token, notice and security-event API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from custody.api.schemas import LoginOut, Strict


class EnrolmentOut(BaseModel):
    secret: str = Field(description="base32 TOTP secret, to type into an authenticator app")
    uri: str = Field(description="otpauth:// URI, what a QR code would carry")


class ConfirmIn(Strict):
    code: str = Field(max_length=10)
    scopes: list[str] | None = Field(default=None, max_length=3)


class EnrolledOut(LoginOut):
    recovery_codes: list[str] = Field(description="one-time codes, shown once: keep them offline")


class TokenOut(BaseModel):
    id: str
    kind: str  # "api" (bearer) or "session" (a browser's cookie)
    scopes: str
    label: str | None
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    current: bool


class RevokedOut(BaseModel):
    revoked: int


class NoticeOut(BaseModel):
    notice: str


class SecurityEventOut(BaseModel):
    at: datetime
    type: str
    user_id: str | None
    email: str | None
    address: str | None
    detail: str | None
    # 1, or the number of identical refusals this row stands for (counted, not each written).
    occurrences: int
