"""One-time codes that only the person sees: activating an account, re-enrolling after a reset.

An admin who creates an account, or resets someone's second factor, must not be able to
become that person. So neither gets a usable secret: the server makes a one-time code,
e-mails it to the person's own address, and keeps only its keyed hash. The code sets the
person's first password (activation) or lets them enrol a new authenticator after a reset
(re-enrolment); the admin's answer never carries it. Both uses are ledger entries.

Codes are 128 random bits (base32, read in groups of four), hashed with HMAC-SHA-256
under a purpose key from the server secret and bound to the person and the purpose, so
a copy of the database holds nothing to guess against. They expire and work once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Literal

from sqlalchemy.orm import Session

from custody.crypto.at_rest import purpose_key
from custody.errors import InvalidInput
from custody.services.alerts import DeliveryFailed, Email, SmtpMailer
from custody.services.context import ServiceContext
from custody.store.models import OneTimeCode, User

Purpose = Literal["activate", "re-enrol"]
ACTIVATE: Purpose = "activate"
REENROL: Purpose = "re-enrol"
LIFETIME: dict[str, timedelta] = {ACTIVATE: timedelta(days=7), REENROL: timedelta(days=3)}
_KEY_PURPOSE = "one-time account codes v1"


def _normal(code: str) -> str:
    return code.strip().upper().replace("-", "").replace(" ", "")


def _digest(ctx: ServiceContext, user_id: str, purpose: str, code: str) -> str:
    key = purpose_key(ctx.server_secret, _KEY_PURPOSE)
    message = f"{user_id}\n{purpose}\n{_normal(code)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def issue(ctx: ServiceContext, session: Session, user: User, purpose: Purpose, by: str) -> str:
    """A new code for ``user`` (any earlier one of that purpose stops working); shown once."""
    raw = base64.b32encode(secrets.token_bytes(16)).decode().rstrip("=")  # 26 characters
    code = "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))
    now = ctx.clock.now()
    row = session.get(OneTimeCode, (user.id, purpose))
    if row is None:
        row = OneTimeCode(user_id=user.id, purpose=purpose)
        session.add(row)
    row.code_hash = _digest(ctx, user.id, purpose, code)
    row.created_at, row.expires_at, row.issued_by = now, now + LIFETIME[purpose], by
    session.flush()
    return code


def pending(session: Session, user_id: str, purpose: Purpose) -> bool:
    """Whether a code of ``purpose`` was issued to the person and not yet used."""
    return session.get(OneTimeCode, (user_id, purpose)) is not None


def check(
    ctx: ServiceContext, session: Session, user_id: str, purpose: Purpose, code: str | None
) -> bool:
    """True if ``code`` is the person's current, unexpired code of ``purpose``."""
    row = session.get(OneTimeCode, (user_id, purpose))
    if row is None or not code or row.expires_at <= ctx.clock.now():
        return False
    return hmac.compare_digest(row.code_hash, _digest(ctx, user_id, purpose, code))


def spend(session: Session, user_id: str, purpose: Purpose) -> None:
    row = session.get(OneTimeCode, (user_id, purpose))
    if row is not None:
        session.delete(row)


def require_mail(ctx: ServiceContext) -> None:
    """Codes go to the person's own address; without SMTP there is no way to reach them."""
    if not ctx.settings.smtp_host:
        raise InvalidInput(
            "this server cannot e-mail the person their one-time code (no CUSTODY_SMTP_HOST)",
            hint="ask the operator to configure SMTP, or to do this on the server with "
            "`custody admin user ...`",
        )


def mail(ctx: ServiceContext, user: User, purpose: Purpose, code: str, by: str) -> None:
    """E-mail ``code`` to the person; a failure is a clear error (the caller rolls back)."""
    require_mail(ctx)
    server = ctx.settings.public_url or "SERVER"
    where = "" if ctx.settings.public_url else "\n(SERVER: the address your organisation gave you.)"
    if purpose == ACTIVATE:
        subject = "Your custody account"
        body = (
            f"{by} created a custody account for {user.email}.\n\nTo choose your password and "
            f"set up your authenticator app, run:\n\n  custody login --server {server} "
            f"--email {user.email} --activation-code {code}\n{where}\nThe code works once, for "
            f"{LIFETIME[purpose].days} days. Nobody else has seen it; do not share it.\n"
        )
    else:
        subject = "Your custody second factor was reset"
        body = (
            f"{by} reset the second factor of your custody account {user.email}; your "
            "sessions and tokens were ended.\n\nTo set up your authenticator app again, run:"
            f"\n\n  custody login --server {server} --email {user.email} --enrolment-code "
            f"{code}\n{where}\nThe code works once, for {LIFETIME[purpose].days} days. If you did "
            "not expect this, tell your security team now.\n"
        )
    try:
        SmtpMailer(ctx.settings).send(Email(user.email, subject, body))
    except DeliveryFailed as exc:
        raise InvalidInput(
            f"the one-time code could not be e-mailed to {user.email}: {exc}",
            hint="nothing was changed; check the server's SMTP settings and try again",
        ) from exc
