"""Organisations, people, passwords, API tokens and public keys."""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from custody.crypto.age import Recipient
from custody.crypto.signing import VerifyKey
from custody.domain.people import (
    CONTENT_ROLES,
    OrgKind,
    Role,
    check_org_name,
    normalise_email,
)
from custody.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from custody.services.context import Actor, ServiceContext
from custody.services.ledger import record
from custody.store.models import ApiToken, Organisation, User, UserKey

_hasher = PasswordHasher()  # argon2id, RFC 9106 defaults
MIN_PASSWORD = 12
TOKEN_PREFIX = "cst_"  # noqa: S105 - a public prefix that lets secret scanners spot tokens


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against for unknown users: same cost, no user-exists oracle."""
    return _hasher.hash(secrets.token_hex(16))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_org(
    ctx: ServiceContext, name: str, kind: OrgKind, recovery_recipient: str
) -> Organisation:
    name = check_org_name(name)
    Recipient.parse(recovery_recipient)  # refuse junk before storing it
    with ctx.unit_of_work() as session:
        if session.scalar(select(Organisation).where(Organisation.name == name)):
            raise Conflict(f"an organisation named {name!r} exists already")
        org = Organisation(
            name=name,
            kind=kind.value,
            recovery_recipient=recovery_recipient,
            default_ack_hours=ctx.settings.default_ack_hours,
            created_at=ctx.clock.now(),
        )
        session.add(org)
        session.flush()
        record(ctx, session, "org:created", "system", data={"org": org.id, "kind": kind.value})
        return org


def find_org(session: Session, name_or_id: str) -> Organisation:
    org = session.scalar(
        select(Organisation).where(
            (Organisation.name == name_or_id) | (Organisation.id == name_or_id)
        )
    )
    if org is None:
        raise NotFound(
            f"no organisation {name_or_id!r}", hint="list them with `custody admin org list`"
        )
    return org


def list_orgs(ctx: ServiceContext) -> list[Organisation]:
    with ctx.unit_of_work() as session:
        return list(session.scalars(select(Organisation).order_by(Organisation.name)))


def create_user(ctx: ServiceContext, email: str, org_name: str, role: Role, password: str) -> User:
    email = normalise_email(email)
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD} characters")
    with ctx.unit_of_work() as session:
        org = find_org(session, org_name)
        if session.scalar(select(User).where(User.email == email)):
            raise Conflict(f"a user {email} exists already")
        user = User(
            email=email,
            org_id=org.id,
            role=role.value,
            password_hash=_hasher.hash(password),
            created_at=ctx.clock.now(),
        )
        session.add(user)
        session.flush()
        record(
            ctx,
            session,
            "user:created",
            "system",
            data={"user": user.id, "org": org.id, "role": role.value},
        )
        return user


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime
    user_id: str
    email: str
    org: str
    role: str


def login(ctx: ServiceContext, email: str, password: str) -> IssuedToken:
    """Check a password and issue an expiring token; one generic error for every failure."""
    wrong = NotAuthenticated("the e-mail address or password is wrong")
    try:
        email = normalise_email(email)
    except InvalidInput:
        raise wrong from None
    with ctx.unit_of_work() as session:
        user = session.scalar(select(User).where(User.email == email))
        try:
            # Verify against a dummy hash for unknown users: same cost, no oracle.
            _hasher.verify(user.password_hash if user else _dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            raise wrong from None
        if user is None or user.disabled:
            raise wrong
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = ctx.clock.now()
        expires = now + timedelta(hours=ctx.settings.token_ttl_hours)
        session.add(
            ApiToken(
                user_id=user.id, token_hash=hash_token(token), created_at=now, expires_at=expires
            )
        )
        return IssuedToken(token, expires, user.id, user.email, user.org.name, user.role)


def authenticate(ctx: ServiceContext, token: str) -> Actor:
    with ctx.unit_of_work() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
        if row is None or row.revoked_at is not None:
            raise NotAuthenticated("this token is not valid", hint="log in again: custody login")
        if row.expires_at <= ctx.clock.now():
            raise NotAuthenticated("your session has expired", hint="log in again: custody login")
        user = session.get(User, row.user_id)
        if user is None or user.disabled:
            raise NotAuthenticated("this account is disabled")
        return Actor(user.id, user.email, user.org_id, user.role)


@dataclass(frozen=True)
class PublicKeys:
    user_id: str
    email: str
    age_recipient: str
    signing_key: str
    ledger_index: int


def register_keys(
    ctx: ServiceContext, actor: Actor, age_recipient: str, signing_key: str
) -> PublicKeys:
    """Register a user's public keys; each registration is a ledger entry (key transparency)."""
    Recipient.parse(age_recipient)
    VerifyKey.from_b64(signing_key)
    if actor.role not in CONTENT_ROLES:
        raise Forbidden(f"a {actor.role} does not handle case material and needs no keys")
    with ctx.unit_of_work() as session:
        now = ctx.clock.now()
        for old in session.scalars(
            select(UserKey).where(UserKey.user_id == actor.user_id, UserKey.retired_at.is_(None))
        ):
            old.retired_at = now
        appended = record(
            ctx,
            session,
            "key:registered",
            actor,
            data={"age_recipient": age_recipient, "signing_key": signing_key},
        )
        session.add(
            UserKey(
                user_id=actor.user_id,
                age_recipient=age_recipient,
                signing_key=signing_key,
                ledger_index=appended.index,
                created_at=now,
            )
        )
        return PublicKeys(actor.user_id, actor.email, age_recipient, signing_key, appended.index)


def current_key(session: Session, user_id: str) -> UserKey | None:
    return session.scalar(
        select(UserKey).where(UserKey.user_id == user_id, UserKey.retired_at.is_(None))
    )


def key_by_index(ctx: ServiceContext, ledger_index: int) -> UserKey:
    with ctx.unit_of_work() as session:
        key = session.scalar(select(UserKey).where(UserKey.ledger_index == ledger_index))
        if key is None:
            raise NotFound(f"no key registered at ledger index {ledger_index}")
        return key
