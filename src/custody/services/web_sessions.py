"""Browser sessions and their CSRF tokens (ASVS V3, V4.2.2).

A session is an ``ApiToken`` row of kind ``session``: 256 random bits in a
``__Host-`` cookie, only the SHA-256 stored, an absolute lifetime and an idle
timeout (``custody.services.tokens.authenticate``). A login turns the token
:func:`custody.services.accounts.login` issues a session directly (``kind``), and
:func:`rotate` revokes any session the browser presented (no session fixation).

CSRF tokens are synchronizer tokens, ``HMAC-SHA-256(K, session id)`` under a
key derived from the server secret with its own purpose label: nothing to
store, bound to one session, and useless for any other. Before there is a
session, the login form is protected by a double-submit pre-session cookie
whose HMAC is the form's token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy import select

from custody.crypto.at_rest import purpose_key
from custody.domain.policy import grant
from custody.errors import NotFound
from custody.services import tokens
from custody.services.context import Actor, ServiceContext
from custody.store.models import ApiToken, User

_CSRF_PURPOSE = "csrf v1"


def _mac(ctx: ServiceContext, label: str, value: str) -> str:
    key = purpose_key(ctx.server_secret, _CSRF_PURPOSE)
    return hmac.new(key, f"{label}\0{value}".encode(), hashlib.sha256).hexdigest()


def csrf_token(ctx: ServiceContext, session_id: str) -> str:
    """The synchronizer token of one session: every form of that session carries it."""
    return _mac(ctx, "session", session_id)


def login_csrf_token(ctx: ServiceContext, pre_session: str) -> str:
    """The login form's token, bound to the browser's pre-session cookie."""
    return _mac(ctx, "login", pre_session)


def new_pre_session() -> str:
    return secrets.token_urlsafe(32)


def same(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


def lifetime(ctx: ServiceContext) -> timedelta:
    return timedelta(hours=ctx.settings.session_hours)


def rotate(ctx: ServiceContext, presented: str | None) -> None:
    """At a login, end the session the browser presented, if any (no session fixation)."""
    if not presented:
        return
    with ctx.unit_of_work() as db:
        old = db.scalar(select(ApiToken).where(ApiToken.token_hash == tokens.hash_token(presented)))
        if old is not None and old.kind == tokens.SESSION and old.revoked_at is None:
            old.revoked_at = ctx.clock.now()


def issue(ctx: ServiceContext, user_id: str, presented: str | None) -> tokens.IssuedToken:
    """A fresh session for a person whose sign-in was checked elsewhere (a security key)."""
    with ctx.unit_of_work() as db:
        user = db.get_one(User, user_id)
        issued = tokens.issue(
            ctx, db, user, grant(user.role, None), lifetime(ctx), "browser", tokens.SESSION
        )
    rotate(ctx, presented)
    return issued


def end(ctx: ServiceContext, actor: Actor) -> None:
    """Log out: the session stops working at once."""
    if actor.token_id is None:
        raise NotFound("there is no session to end")
    tokens.revoke(ctx, actor, actor.token_id)
