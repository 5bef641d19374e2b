"""The second factor: TOTP (RFC 6238) with one-time recovery codes (ASVS V2.7, V2.8).

Enrolment: a first login hands out an enrolment token; with it the person
fetches a new secret (as an ``otpauth://`` URI for their authenticator app),
proves it with one code, and gets ten recovery codes, shown once. The secret
is sealed at rest under a key derived from the server secret; a code is good
for one time step only (RFC 6238 §5.2). An operator's reset is a ledger entry.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

import pyotp
from sqlalchemy import and_, delete, or_, select
from sqlalchemy.orm import Session

from custody.crypto.at_rest import AtRestKey, purpose_key
from custody.domain.people import normalise_email
from custody.domain.policy import Scope, grant
from custody.errors import Conflict, NotAuthenticated, NotFound
from custody.ledger.events import EntryType
from custody.protocol.accounts import EnrolmentOut
from custody.services import activation, notes, tokens
from custody.services.context import Actor, ServiceContext
from custody.services.ledger import record
from custody.store.models import User
from custody.store.models_security import (
    RECOVERY_KEYED,
    RECOVERY_LEGACY,
    RecoveryCode,
    SecondFactor,
    WebAuthnChallenge,
    WebAuthnCredential,
)

RECOVERY_CODES = 10
_PURPOSE = "totp secret v1"


def _key(ctx: ServiceContext) -> AtRestKey:
    return AtRestKey(ctx.server_secret, _PURPOSE)


# Recovery codes: 16 characters of Crockford's base32 (no I, L, O or U), 80 bits, shown
# as four groups of four. Case, spaces and dashes do not matter, and I, L and O are read
# as the digits they look like, so a code copied from paper by hand still works.
_RECOVERY_PURPOSE = "recovery code v1"
_RECOVERY_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RECOVERY_LENGTH = 16
_LOOK_ALIKES = str.maketrans("ILO", "110")


def _new_recovery_code() -> str:
    chars = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
    return "-".join(chars[i : i + 4] for i in range(0, _RECOVERY_LENGTH, 4))


def hash_recovery_code(ctx: ServiceContext, user_id: str, code: str) -> str:
    """HMAC-SHA-256 of the code, bound to its person, under a key derived from the server
    secret: without that secret a copy of the database cannot confirm a single guess."""
    normal = "".join(code.upper().split()).replace("-", "").translate(_LOOK_ALIKES)
    key = purpose_key(ctx.server_secret, _RECOVERY_PURPOSE)
    return hmac.new(key, f"{user_id}:{normal}".encode(), hashlib.sha256).hexdigest()


def _legacy_recovery_hash(code: str) -> str:
    """How codes made before migration 0007 were stored: unkeyed SHA-256, 48-bit codes."""
    normal = code.strip().lower().replace("-", "").replace(" ", "")
    return hashlib.sha256(f"custody recovery {normal}".encode()).hexdigest()


def is_enrolled(session: Session, user_id: str) -> bool:
    row = session.get(SecondFactor, user_id)
    return row is not None and row.confirmed_at is not None


def enrolled_among(session: Session, user_ids: list[str]) -> set[str]:
    """Which of these people have a confirmed second factor, in one query."""
    return set(
        session.scalars(
            select(SecondFactor.user_id).where(
                SecondFactor.user_id.in_(user_ids), SecondFactor.confirmed_at.is_not(None)
            )
        )
    )


def start_enrolment(ctx: ServiceContext, actor: Actor) -> EnrolmentOut:
    """A new TOTP secret for the actor, pending until :func:`confirm_enrolment`."""
    secret = pyotp.random_base32(32)
    with ctx.unit_of_work() as session:
        row = session.get(SecondFactor, actor.user_id)
        if row is not None and row.confirmed_at is not None:
            raise Conflict("you have a second factor already", hint="ask an admin to reset it")
        if row is not None:
            session.delete(row)
            session.flush()
        session.add(
            SecondFactor(
                user_id=actor.user_id,
                sealed_secret=_key(ctx).seal(secret.encode(), actor.user_id),
                created_at=ctx.clock.now(),
                last_step=0,
            )
        )
    uri = pyotp.TOTP(secret).provisioning_uri(
        name=actor.email, issuer_name=ctx.settings.totp_issuer
    )
    return EnrolmentOut(secret=secret, uri=uri)


def pending_enrolment(ctx: ServiceContext, actor: Actor) -> EnrolmentOut:
    """The actor's enrolment in progress (the secret their app was shown), or a new one: the
    browser's enrolment page shows the same secret again after a wrong code."""
    with ctx.unit_of_work() as session:
        row = session.get(SecondFactor, actor.user_id)
        # No enrolment pending: no secret to show (an empty string, not a password).
        secret = ""  # nosec B105
        if row is not None and row.confirmed_at is None:
            secret = _key(ctx).open(row.sealed_secret, row.user_id).decode()
    if not secret:
        return start_enrolment(ctx, actor)
    uri = pyotp.TOTP(secret).provisioning_uri(
        name=actor.email, issuer_name=ctx.settings.totp_issuer
    )
    return EnrolmentOut(secret=secret, uri=uri)


def _accept_code(ctx: ServiceContext, row: SecondFactor, code: str) -> bool:
    """True if ``code`` is right for this step or one either side, and newer than the last."""
    totp = pyotp.TOTP(_key(ctx).open(row.sealed_secret, row.user_id).decode())
    now = totp.timecode(ctx.clock.now())
    candidate = code.strip().replace(" ", "")
    for step in (now - 1, now, now + 1):  # valid_window=1: clocks drift
        if step > row.last_step and hmac.compare_digest(totp.generate_otp(step), candidate):
            row.last_step = step
            return True
    return False


def confirm_enrolment(
    ctx: ServiceContext,
    actor: Actor,
    code: str,
    scopes: frozenset[Scope] | None,
    kind: tokens.Kind = tokens.API,
) -> tuple[tokens.IssuedToken, list[str]]:
    """Check the first code; make recovery codes; swap the enrolment token for a full one
    (``kind``: an API token for the CLI, a browser session for the web's enrolment page)."""
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    with ctx.unit_of_work() as session:
        row = session.get(SecondFactor, actor.user_id)
        if row is None or row.confirmed_at is not None:
            raise Conflict("there is no enrolment in progress", hint="log in again: custody login")
        if not _accept_code(ctx, row, code):
            raise NotAuthenticated(
                "that code is not right", hint="check the device's clock and type the newest code"
            )
        now = ctx.clock.now()
        row.confirmed_at = now
        session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == actor.user_id))
        for c in codes:
            session.add(
                RecoveryCode(
                    user_id=actor.user_id,
                    code_hash=hash_recovery_code(ctx, actor.user_id, c),
                    scheme=RECOVERY_KEYED,
                    created_at=now,
                )
            )
        tokens.revoke_all(session, actor.user_id, now)  # the enrolment token is spent
        activation.spend(session, actor.user_id, activation.REENROL)
        record(
            ctx,
            session,
            EntryType.ACCOUNT_SECOND_FACTOR_ENROLLED,
            actor,
            data={"user": actor.user_id},
        )
        user = session.get_one(User, actor.user_id)
        browser = kind == tokens.SESSION
        hours = ctx.settings.session_hours if browser else ctx.settings.token_ttl_hours
        label = "browser" if browser else None
        issued = tokens.issue(
            ctx, session, user, grant(user.role, scopes), timedelta(hours=hours), label, kind
        )
        return issued, codes


def verify(
    ctx: ServiceContext, session: Session, user_id: str, code: str | None, recovery: str | None
) -> bool:
    """True if the code (or an unused recovery code, then spent) is right for this person."""
    row = session.get(SecondFactor, user_id)
    if row is None or row.confirmed_at is None:
        return False
    if code:
        return _accept_code(ctx, row, code)
    if recovery:
        # Codes made before migration 0007 (unkeyed) still work, once each, until the
        # person enrols again: voiding them would strand exactly the people who need them
        # (a lost phone) with only an admin's reset, and the unkeyed hash of one is of use
        # only to someone who also has that person's password.
        keyed = hash_recovery_code(ctx, user_id, recovery)
        legacy = _legacy_recovery_hash(recovery)
        used = session.scalar(
            select(RecoveryCode)
            .where(
                RecoveryCode.user_id == user_id,
                RecoveryCode.used_at.is_(None),
                or_(
                    and_(RecoveryCode.scheme == RECOVERY_KEYED, RecoveryCode.code_hash == keyed),
                    and_(RecoveryCode.scheme == RECOVERY_LEGACY, RecoveryCode.code_hash == legacy),
                ),
            )
            .with_for_update()  # two logins racing with one code: only one may spend it
        )
        if used is not None:
            used.used_at = ctx.clock.now()
            return True
    return False


@dataclass(frozen=True)
class Reset:
    ledger_index: int
    # The one-time re-enrolment code, when it is the operator's to hand over (no SMTP);
    # None when it was e-mailed to the person, who alone then sees it.
    enrolment_code: str | None


def clear(ctx: ServiceContext, session: Session, user: User, reason: str, by: Actor | str) -> Reset:
    """Clear a person's second factors and tokens in the caller's transaction.

    They enrol again at their next login, which then needs a one-time code that goes to
    them, not to whoever reset it (:mod:`custody.services.activation`): a people admin's
    reset e-mails it (refused without SMTP); the operator's is e-mailed if the server can,
    else returned to be handed over. The reset is a ledger entry, since it changes who can
    reach case material.
    """
    admin = isinstance(by, Actor)
    if admin:
        activation.require_mail(ctx)
    session.execute(delete(SecondFactor).where(SecondFactor.user_id == user.id))
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    # A reset clears every second factor: security keys too.
    session.execute(delete(WebAuthnChallenge).where(WebAuthnChallenge.user_id == user.id))
    session.execute(delete(WebAuthnCredential).where(WebAuthnCredential.user_id == user.id))
    tokens.revoke_all(session, user.id, ctx.clock.now())
    by_id = by.user_id if isinstance(by, Actor) else by
    code = activation.issue(ctx, session, user, activation.REENROL, by=by_id)
    appended = record(
        ctx,
        session,
        EntryType.ACCOUNT_SECOND_FACTOR_RESET,
        by,
        data={"user": user.id, **notes.keep(ctx, session, reason[:300])},
    )
    if admin or ctx.settings.smtp_host:
        who = by.email if isinstance(by, Actor) else "The custody operator"
        activation.mail(ctx, user, activation.REENROL, code, who)
        return Reset(appended.index, None)
    return Reset(appended.index, code)


def reset(ctx: ServiceContext, email: str, reason: str, by: Actor | str = "system") -> Reset:
    """The operator's reset of a person's second factor (``custody admin user reset-2fa``)."""
    email = normalise_email(email)
    with ctx.unit_of_work() as session:
        user = session.scalar(select(User).where(User.email == email))
        if user is None:
            raise NotFound(f"no user {email}")
        return clear(ctx, session, user, reason, by)
