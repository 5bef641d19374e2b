"""API tokens: scoped, expiring, revocable, hashed at rest (ASVS V3.5).

A token is ``cst_`` + 256 random bits; only its SHA-256 is stored, so a copy of
the database holds no usable token. Revocation takes effect on the next
request: every request looks the token up.

Two kinds share the table: ``api`` tokens (bearer, for the CLI and integrations)
and ``session`` tokens (the web application's cookie, with an idle timeout as
well). Each is accepted only where it belongs: a session is never a bearer
token, and an API token is never a cookie.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from custody.domain.policy import Scope, format_scopes, parse_scopes
from custody.errors import NotAuthenticated, NotFound
from custody.protocol.accounts import TokenOut
from custody.services.context import Actor, ServiceContext, refuse
from custody.store.models import ApiToken, User

TOKEN_PREFIX = "cst_"  # noqa: S105 - a public prefix for secret scanners  # nosec B105
# Writing last_used_at on every request would make every read a write; once a minute will do.
_TOUCH_EVERY = timedelta(minutes=1)
API: Literal["api"] = "api"
SESSION: Literal["session"] = "session"
Kind = Literal["api", "session"]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: str
    token_id: str
    expires_at: datetime
    scopes: str
    user_id: str
    email: str
    org: str
    role: str


def issue(
    ctx: ServiceContext,
    session: Session,
    user: User,
    scopes: frozenset[Scope],
    ttl: timedelta,
    label: str | None = None,
    kind: Kind = API,
) -> IssuedToken:
    """A new token for ``user`` in the caller's transaction; the clear value is returned once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = ctx.clock.now()
    row = ApiToken(
        user_id=user.id,
        token_hash=hash_token(token),
        scopes=format_scopes(scopes),
        label=label,
        kind=kind,
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(row)
    session.flush()
    return IssuedToken(
        token, row.id, row.expires_at, row.scopes, user.id, user.email, user.org.name, user.role
    )


def authenticate(ctx: ServiceContext, token: str, kind: Kind = API) -> Actor:
    """The actor a token of ``kind`` stands for; 401 if unknown, of the other kind, revoked,
    expired (or, for a session, idle too long) or its account is disabled."""
    noun, again = (
        ("token", "log in again: custody login") if kind == API else ("session", "sign in")
    )
    with ctx.unit_of_work() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
        if row is None or row.revoked_at is not None or row.kind != kind:
            raise NotAuthenticated(f"this {noun} is not valid", hint=again)
        now = ctx.clock.now()
        if row.expires_at <= now:
            raise NotAuthenticated(f"your {noun} has expired", hint=again)
        idle = timedelta(minutes=ctx.settings.session_idle_minutes)
        if kind == SESSION and now - (row.last_used_at or row.created_at) > idle:
            row.revoked_at = now  # an idle session ends for good (ASVS V3.3.2)
            refuse(NotAuthenticated("your session ended after a while without use", hint=again))
        user = session.get(User, row.user_id)
        if user is None or user.disabled:
            raise NotAuthenticated("this account is disabled")
        if row.last_used_at is None or now - row.last_used_at > _TOUCH_EVERY:
            row.last_used_at = now
        return Actor(
            user.id,
            user.email,
            user.org_id,
            user.role,
            token_id=row.id,
            scopes=frozenset(str(s) for s in parse_scopes(row.scopes)),
        )


def list_tokens(ctx: ServiceContext, actor: Actor) -> list[TokenOut]:
    """The actor's own tokens that still work, newest first."""
    with ctx.unit_of_work() as session:
        rows = session.scalars(
            select(ApiToken)
            .where(
                ApiToken.user_id == actor.user_id,
                ApiToken.revoked_at.is_(None),
                ApiToken.expires_at > ctx.clock.now(),
            )
            .order_by(ApiToken.created_at.desc())
        )
        return [TokenOut.of(r, current=r.id == actor.token_id) for r in rows]


def revoke(ctx: ServiceContext, actor: Actor, token_id: str | None) -> int:
    """Revoke one of the actor's tokens, or all of them (``None``); how many were revoked."""
    with ctx.unit_of_work() as session:
        if token_id is None:
            return revoke_all(session, actor.user_id, ctx.clock.now())
        row = session.get(ApiToken, token_id)
        if row is None or row.user_id != actor.user_id or row.revoked_at is not None:
            raise NotFound(f"no token {token_id} of yours", hint="list them: custody tokens list")
        row.revoked_at = ctx.clock.now()
        return 1


def revoke_id(ctx: ServiceContext, token_id: str) -> None:
    """Revoke a token the server itself just issued and will not hand out."""
    with ctx.unit_of_work() as session:
        row = session.get_one(ApiToken, token_id)
        row.revoked_at = row.revoked_at or ctx.clock.now()


def revoke_all(session: Session, user_id: str, now: datetime) -> int:
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
