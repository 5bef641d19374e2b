"""Security keys (WebAuthn, py_webauthn): a phishing-resistant alternative to the TOTP code.

A signed-in person registers a key; at a later login, after a right password,
the key's assertion stands in for the code. Challenges are 32 random bytes,
stored only as SHA-256 with their purpose and person, good for
:data:`CHALLENGE_TTL`, and deleted when their answer arrives, whatever the
outcome: single-use. The signature counter must grow when a key keeps one
(WebAuthn §6.1.1). Adding and removing a key are security events; a login
with a key is recorded like any other.

The relying party is the host of ``CUSTODY_PUBLIC_URL``. Only in development
mode may it come from the request instead: taken from a ``Host`` header in
production, a phishing proxy could have its own origin accepted.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    bytes_to_base64url,
    parse_authentication_credential_json,
    parse_client_data_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from custody.domain.people import normalise_email
from custody.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from custody.services import accounts, throttle
from custody.services.accounts import GENERIC_REFUSAL
from custody.services.context import Actor, Origin, ServiceContext, refuse
from custody.services.security_events import record_event
from custody.settings import Settings
from custody.store.models import User
from custody.store.models_security import WebAuthnChallenge, WebAuthnCredential

CHALLENGE_TTL = timedelta(minutes=5)
MAX_LABEL = 80
MAX_KEYS = 10


@dataclass(frozen=True)
class RelyingParty:
    """Who the browser signs for: the RP id (a host name) and the page origin it must see."""

    id: str
    origin: str

    def expects(self, challenge: bytes) -> dict[str, Any]:
        """What a ceremony's answer must show (py_webauthn's ``expected_*``): our challenge,
        signed for our RP id, from our page's origin."""
        return {
            "expected_challenge": challenge,
            "expected_rp_id": self.id,
            "expected_origin": self.origin,
        }


def relying_party(settings: Settings, request_origin: str) -> RelyingParty:
    """The relying party from ``CUSTODY_PUBLIC_URL``, or (development only) from the request."""
    url = settings.public_url or (request_origin if settings.mode == "development" else None)
    parts = urlsplit(url or "")
    if not parts.hostname or parts.scheme not in ("http", "https"):
        raise Conflict(
            "security keys need the server's public address",
            hint="the operator sets CUSTODY_PUBLIC_URL (e.g. https://custody.example)",
        )
    return RelyingParty(parts.hostname, f"{parts.scheme}://{parts.netloc}")


@dataclass(frozen=True)
class KeyView:
    id: str
    label: str
    created_at: datetime
    last_used_at: datetime | None


def list_keys(ctx: ServiceContext, actor: Actor) -> list[KeyView]:
    with ctx.unit_of_work() as session:
        rows = session.scalars(
            select(WebAuthnCredential)
            .where(WebAuthnCredential.user_id == actor.user_id)
            .order_by(WebAuthnCredential.created_at)
        )
        return [KeyView(r.id, r.label, r.created_at, r.last_used_at) for r in rows]


def _hash(challenge: bytes) -> str:
    return hashlib.sha256(challenge).hexdigest()


def _remember(ctx: ServiceContext, session: Session, user_id: str, purpose: str) -> bytes:
    now = ctx.clock.now()
    session.execute(
        delete(WebAuthnChallenge).where(
            WebAuthnChallenge.user_id == user_id, WebAuthnChallenge.expires_at <= now
        )
    )
    challenge = secrets.token_bytes(32)
    session.add(
        WebAuthnChallenge(
            challenge_hash=_hash(challenge),
            user_id=user_id,
            purpose=purpose,
            created_at=now,
            expires_at=now + CHALLENGE_TTL,
        )
    )
    return challenge


def _spend(ctx: ServiceContext, client_data_json: bytes, purpose: str) -> tuple[bytes, str]:
    """The challenge a browser answered, and whose it was; deleted now, used or not."""
    try:
        challenge = parse_client_data_json(client_data_json).challenge
    except WebAuthnException:
        raise InvalidInput("the security key's answer could not be read") from None
    with ctx.unit_of_work() as session:
        row = session.get(WebAuthnChallenge, _hash(challenge))
        if row is not None:
            session.delete(row)
    if row is None or row.purpose != purpose or row.expires_at <= ctx.clock.now():
        raise NotAuthenticated(
            "that security-key request has expired or was used already", hint="try again"
        )
    return challenge, row.user_id


def _descriptors(rows: list[WebAuthnCredential]) -> list[PublicKeyCredentialDescriptor]:
    found = []
    for r in rows:
        transports = [
            AuthenticatorTransport(t)
            for t in (r.transports or "").split()
            if t in AuthenticatorTransport._value2member_map_
        ]
        found.append(
            PublicKeyCredentialDescriptor(
                id=_b64url_decode(r.credential_id), transports=transports or None
            )
        )
    return found


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _credentials(session: Session, user_id: str) -> list[WebAuthnCredential]:
    return list(
        session.scalars(select(WebAuthnCredential).where(WebAuthnCredential.user_id == user_id))
    )


def registration_options(ctx: ServiceContext, actor: Actor, rp: RelyingParty) -> str:
    """``PublicKeyCredentialCreationOptions`` as JSON, for ``navigator.credentials.create``."""
    with ctx.unit_of_work() as session:
        existing = _credentials(session, actor.user_id)
        if len(existing) >= MAX_KEYS:
            raise Conflict(f"you have {MAX_KEYS} security keys", hint="remove one first")
        challenge = _remember(ctx, session, actor.user_id, "register")
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=ctx.settings.totp_issuer,
        user_name=actor.email,
        user_id=actor.user_id.encode(),
        challenge=challenge,
        timeout=int(CHALLENGE_TTL.total_seconds() * 1000),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.DISCOURAGED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=_descriptors(existing),
    )
    return options_to_json(options)


def register(
    ctx: ServiceContext, actor: Actor, rp: RelyingParty, credential: str, label: str
) -> KeyView:
    """Check a new key's attestation against a challenge of this person's; store its public key."""
    label = " ".join(label.split())[:MAX_LABEL]
    if not label:
        raise InvalidInput("give the security key a name", hint="e.g. 'blue YubiKey'")
    try:
        parsed = parse_registration_credential_json(credential)
    except (WebAuthnException, ValueError, TypeError):
        raise InvalidInput("the security key's answer could not be read") from None
    challenge, user_id = _spend(ctx, parsed.response.client_data_json, "register")
    if user_id != actor.user_id:
        raise NotAuthenticated("that security-key request was not yours", hint="try again")
    try:
        verified = verify_registration_response(credential=parsed, **rp.expects(challenge))
    except WebAuthnException:
        raise InvalidInput("the security key's answer did not verify", hint="try again") from None
    transports = " ".join(t.value for t in parsed.response.transports or [])[:100]
    with ctx.unit_of_work() as session:
        credential_id = bytes_to_base64url(verified.credential_id)
        if session.scalar(
            select(WebAuthnCredential).where(WebAuthnCredential.credential_id == credential_id)
        ):
            raise Conflict("that security key is registered already")
        row = WebAuthnCredential(
            user_id=actor.user_id,
            credential_id=credential_id,
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            transports=transports or None,
            label=label,
            created_at=ctx.clock.now(),
        )
        session.add(row)
        session.flush()
        _key_event(ctx, session, "account:webauthn_added", actor, row)
        return KeyView(row.id, row.label, row.created_at, None)


def _key_event(
    ctx: ServiceContext, session: Session, type_: str, actor: Actor, key: WebAuthnCredential
) -> None:
    record_event(
        ctx, session, type_, actor, email=actor.email, detail=f"key {key.id} ({key.label})"
    )


def remove(ctx: ServiceContext, actor: Actor, key_id: str) -> None:
    with ctx.unit_of_work() as session:
        row = session.get(WebAuthnCredential, key_id)
        if row is None or row.user_id != actor.user_id:
            raise NotFound(f"no security key {key_id} of yours")
        session.delete(row)
        _key_event(ctx, session, "account:webauthn_removed", actor, row)


def login_options(ctx: ServiceContext, email: str, rp: RelyingParty) -> str:
    """``PublicKeyCredentialRequestOptions`` as JSON for a person whose password was right.

    Call it only after :func:`custody.services.accounts.login` said a second factor is needed.
    """
    with ctx.unit_of_work() as session:
        user = session.scalar(select(User).where(User.email == normalise_email(email)))
        keys = _credentials(session, user.id) if user is not None else []
        if user is None or not keys:
            raise Conflict(
                "you have no security key registered",
                hint="enter the code from your authenticator app instead",
            )
        challenge = _remember(ctx, session, user.id, "login")
    options = generate_authentication_options(
        rp_id=rp.id,
        challenge=challenge,
        timeout=int(CHALLENGE_TTL.total_seconds() * 1000),
        allow_credentials=_descriptors(keys),
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return options_to_json(options)


def login(ctx: ServiceContext, rp: RelyingParty, credential: str, origin: Origin) -> str:
    """Check a login assertion; the id of the person it signs in. Every outcome is recorded."""
    try:
        parsed = parse_authentication_credential_json(credential)
    except (WebAuthnException, ValueError, TypeError):
        raise InvalidInput("the security key's answer could not be read") from None
    challenge, user_id = _spend(ctx, parsed.response.client_data_json, "login")
    with ctx.unit_of_work() as session:
        user = session.get_one(User, user_id)
        paused = throttle.refusal(session, ctx, user.email, origin.address)
        row = session.scalar(
            select(WebAuthnCredential).where(
                WebAuthnCredential.credential_id == bytes_to_base64url(parsed.raw_id),
                WebAuthnCredential.user_id == user_id,
            )
        )
        ids: dict[str, str | None] = {"user_id": user.id, "org_id": user.org_id}
        failure = paused or ("disabled" if user.disabled else None)
        verified = None
        if row is None:
            failure = failure or "unknown security key"
        elif failure is None:
            try:
                verified = verify_authentication_response(
                    credential=parsed,
                    **rp.expects(challenge),
                    credential_public_key=row.public_key,
                    credential_current_sign_count=row.sign_count,
                )
            except WebAuthnException as exc:
                failure = f"security key refused: {str(exc)[:120]}"
        if row is None or verified is None:
            accounts.failed_login(ctx, session, user.email, origin, failure or "refused", ids)
            refuse(NotAuthenticated(GENERIC_REFUSAL, hint="check them and try again later"))
        row.sign_count = verified.new_sign_count
        row.last_used_at = ctx.clock.now()
        throttle.succeeded(session, user.email)
        record_event(
            ctx,
            session,
            "login:succeeded",
            origin,
            email=user.email,
            detail=f"security key {row.id}",
            **ids,
        )
        return user.id
