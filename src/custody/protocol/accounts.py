"""Signing in, keys, second factors, tokens, the system-use notice, security events."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from custody.protocol.types import Email, Strict, View


class LoginIn(Strict):
    email: Email
    password: str = Field(max_length=1024)
    code: str | None = Field(default=None, max_length=10, description="TOTP code")
    recovery_code: str | None = Field(default=None, max_length=40)
    enrolment_code: str | None = Field(
        default=None, max_length=60, description="after a reset: the one-time code e-mailed"
    )
    scopes: list[str] | None = Field(default=None, max_length=3, description="read, send, admin")


class LoginOut(View):
    token: str
    token_id: str
    expires_at: datetime
    scopes: str
    # True: ``token`` is good only for enrolling a second factor (/api/v1/second-factor/...).
    enrolment_required: bool
    user_id: str
    email: str
    org: str
    role: str
    log_origin: str
    # What the server says its log key is; a client checks it against the key it pinned.
    log_key: str | None


class ActivateIn(Strict):
    email: Email
    code: str = Field(max_length=60, description="the one-time activation code e-mailed")
    password: str = Field(max_length=1024, description="the password the person chooses")


class MeOut(View):
    user_id: str
    email: str
    org_id: str
    role: str


class KeysIn(Strict):
    age_recipient: str = Field(max_length=100)
    signing_key: str = Field(max_length=60)


class KeysOut(View):
    user_id: str
    email: str
    age_recipient: str
    signing_key: str
    ledger_index: int


class NoticeOut(View):
    """The deployment's system-use notice, shown before anything is typed."""

    notice: str


class EnrolmentOut(View):
    secret: str = Field(description="base32 TOTP secret, to type into an authenticator app")
    uri: str = Field(description="otpauth:// URI, what a QR code would carry")


class ConfirmIn(Strict):
    code: str = Field(max_length=10)
    scopes: list[str] | None = Field(default=None, max_length=3)


class EnrolledOut(LoginOut):
    recovery_codes: list[str] = Field(description="one-time codes, shown once: keep them offline")


class TokenOut(View):
    id: str
    kind: str = Field(description='"api" (bearer) or "session" (a browser\'s cookie)')
    scopes: str
    label: str | None
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    current: bool


class RevokedOut(View):
    revoked: int


class SecurityEventOut(View):
    at: datetime
    type: str
    user_id: str | None
    email: str | None
    address: str | None
    detail: str | None
    # 1, or the number of identical refusals this row stands for (counted, not each written).
    occurrences: int


class SecurityEventPage(View):
    """One page of an organisation's security events, newest first."""

    events: list[SecurityEventOut]
    next: str | None = Field(description="pass as ?after= for the next page; null at the end")
