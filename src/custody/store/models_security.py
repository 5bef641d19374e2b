"""Accounts' security state: second factors, recovery codes, sign-in throttles, security events.

Kept apart from ``models`` so the security tables move on their own. Secrets
are never stored in clear: a TOTP secret is sealed with a key derived from the
server secret, recovery codes are stored as keyed hashes under another.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from custody.store.db import Base, new_id

ID = String(36)


class SecondFactor(Base):
    """A TOTP (RFC 6238) secret, sealed at rest; pending until a first code confirms it."""

    __tablename__ = "second_factors"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    sealed_secret: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    # The last time step whose code was accepted: a code is good once (RFC 6238 §5.2).
    last_step: Mapped[int] = mapped_column(default=0)


class WebAuthnCredential(Base):
    """A security key or platform authenticator (WebAuthn), an alternative second factor.

    Only public material is stored: the credential id and its COSE public key.
    """

    __tablename__ = "webauthn_credentials"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    # base64url of the raw credential id (at most 1023 bytes by the spec).
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(default=0)
    transports: Mapped[str | None] = mapped_column(String(100))
    label: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]


class WebAuthnChallenge(Base):
    """A WebAuthn challenge handed to a browser: single-use, short-lived, stored hashed.

    Deleted when its answer arrives (used or not), so a captured assertion cannot be replayed.
    """

    __tablename__ = "webauthn_challenges"

    challenge_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))  # "register" or "login"
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


# How a recovery code's hash was made (``RecoveryCode.scheme``).
RECOVERY_KEYED = "hmac-sha256"  # HMAC under a key derived from the server secret
RECOVERY_LEGACY = "sha256"  # before migration 0007: unkeyed, 48-bit codes; never written now


class RecoveryCode(Base):
    """A one-time recovery code, stored as HMAC-SHA-256 under a key derived from the server
    secret: a copy of the database alone cannot confirm a guess.

    Rows made before migration 0007 keep ``scheme`` "sha256" and are accepted until used or
    until the person enrols again (services/second_factor.py says why).
    """

    __tablename__ = "recovery_codes"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scheme: Mapped[str] = mapped_column(String(20), default=RECOVERY_KEYED)
    created_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class SignInThrottle(Base):
    """Failed sign-ins counted per account (``account:EMAIL``) or per address (``address:IP``)."""

    __tablename__ = "sign_in_throttles"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]


class SecurityEvent(Base):
    """Every sign-in attempt and every refused access: who, from where, what came of it.

    Personal data (addresses), so it lives beside the ledger, never in it.
    """

    __tablename__ = "security_events"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    at: Mapped[datetime] = mapped_column(index=True)
    type: Mapped[str] = mapped_column(String(60), index=True)  # e.g. "login:failed"
    user_id: Mapped[str | None] = mapped_column(String(36), index=True)
    org_id: Mapped[str | None] = mapped_column(String(36), index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[str | None] = mapped_column(String(300))
    # How many attempts this row stands for: 1, or for the summary of a flood of identical
    # refusals the repeats folded into it (services/refusal_records.py).
    occurrences: Mapped[int] = mapped_column(default=1)


class RefusalTally(Base):
    """Identical refusals inside one window, folded into a count (services/refusal_records.py).

    The first of them is recorded in full (``first_ref``: its ledger index or security
    event id); the rest only add to ``repeats`` here, in their own transactions, until a
    summary carrying the count is written once the window has closed. One row per
    (kind, who, what, why) with an open or unsummarised window; ``key`` is their SHA-256.
    """

    __tablename__ = "refusal_tallies"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # "ledger" or "event"
    first_ref: Mapped[str | None] = mapped_column(String(36))  # None: claimed, not yet written
    opened_at: Mapped[datetime]
    closes_at: Mapped[datetime] = mapped_column(index=True)
    last_at: Mapped[datetime]
    repeats: Mapped[int] = mapped_column(default=0)
