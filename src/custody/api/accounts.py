"""Signing in, activation, the caller, their keys and tokens, second factors, the system-use
notice, and an organisation's security events."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from custody.domain.policy import parse_scopes
from custody.http.deps import ContextDep, PageDep, origin_of
from custody.http.openapi import fails
from custody.http.policy import (
    PUBLIC,
    Authenticated,
    ContentReader,
    ContentSender,
    Enrolling,
    OrgAdmin,
)
from custody.protocol.accounts import (
    ActivateIn,
    ConfirmIn,
    EnrolledOut,
    EnrolmentOut,
    KeysIn,
    KeysOut,
    LoginIn,
    LoginOut,
    MeOut,
    NoticeOut,
    RevokedOut,
    SecurityEventPage,
    TokenOut,
)
from custody.protocol.codes import ErrorCode
from custody.services import accounts, second_factor, security_events, tokens
from custody.services.context import Actor

router = APIRouter(prefix="/api/v1", tags=["accounts"])


def _log_key(request: Request) -> str | None:
    key: str | None = request.app.state.log_vkey
    return key


@router.get("/notice", response_model=NoticeOut, dependencies=[PUBLIC])
def notice(ctx: ContextDep) -> NoticeOut:
    """The system-use notice every client shows before sign-in (CJIS 5.5.4)."""
    return NoticeOut(notice=ctx.settings.system_use_notice)


@router.post(
    "/login",
    response_model=LoginOut,
    dependencies=[PUBLIC],
    responses=fails(ErrorCode.NOT_AUTHENTICATED),
)
def login(body: LoginIn, ctx: ContextDep, request: Request) -> LoginOut:
    """Password and second factor in; a scoped token out (or an enrolment token, first time).

    The answer names the server's log and its key, which the client checks against the
    key it pinned."""
    result = accounts.login(
        ctx,
        body.email,
        body.password,
        code=body.code,
        recovery_code=body.recovery_code,
        scopes=parse_scopes(body.scopes) if body.scopes else None,
        origin=origin_of(request),
        enrolment_code=body.enrolment_code,
    )
    return LoginOut(
        **asdict(result.issued),
        enrolment_required=result.enrolling,
        log_origin=ctx.origin,
        log_key=_log_key(request),
    )


@router.post(
    "/activate",
    status_code=204,
    dependencies=[PUBLIC],
    responses=fails(ErrorCode.NOT_AUTHENTICATED),
)
def activate(body: ActivateIn, ctx: ContextDep, request: Request) -> Response:
    """A new person chooses their password with the one-time code e-mailed to them."""
    accounts.activate(ctx, body.email, body.code, body.password, origin_of(request))
    return Response(status_code=204)


@router.post("/second-factor/enrol", response_model=EnrolmentOut)
def enrol(ctx: ContextDep, actor: Enrolling) -> EnrolmentOut:
    """A new TOTP secret for the authenticator app; replaces any unconfirmed one."""
    return second_factor.start_enrolment(ctx, actor)


@router.post(
    "/second-factor/confirm",
    response_model=EnrolledOut,
    responses=fails(ErrorCode.CONFLICT),
)
def confirm(body: ConfirmIn, ctx: ContextDep, actor: Enrolling, request: Request) -> EnrolledOut:
    """The first code proves the app has the secret: recovery codes and a full token come back."""
    scopes = parse_scopes(body.scopes) if body.scopes else None
    issued, codes = second_factor.confirm_enrolment(ctx, actor, body.code, scopes)
    return EnrolledOut(
        **asdict(issued),
        enrolment_required=False,
        recovery_codes=codes,
        log_origin=ctx.origin,
        log_key=_log_key(request),
    )


@router.get("/me", response_model=MeOut)
def me(actor: Authenticated) -> Actor:
    """Who the token is for."""
    return actor


@router.get("/keys", response_model=KeysOut, responses=fails(ErrorCode.NOT_FOUND))
def my_keys(ctx: ContextDep, actor: ContentReader) -> KeysOut:
    """The public keys you registered last, and their ledger entry."""
    return accounts.my_keys(ctx, actor)


@router.post("/keys", response_model=KeysOut, status_code=201, responses=fails(ErrorCode.CONFLICT))
def register_keys(body: KeysIn, ctx: ContextDep, actor: ContentSender) -> KeysOut:
    """Register your age recipient and signing key; the ledger records them."""
    return accounts.register_keys(ctx, actor, body.age_recipient, body.signing_key)


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(ctx: ContextDep, actor: Authenticated) -> list[TokenOut]:
    """Your tokens that still work."""
    return tokens.list_tokens(ctx, actor)


@router.delete(
    "/tokens/{token_id}", response_model=RevokedOut, responses=fails(ErrorCode.NOT_FOUND)
)
def revoke_token(token_id: str, ctx: ContextDep, actor: Authenticated) -> RevokedOut:
    """Revoke one of your tokens; it stops working at once."""
    return RevokedOut(revoked=tokens.revoke(ctx, actor, token_id))


@router.delete("/tokens", response_model=RevokedOut)
def revoke_all_tokens(ctx: ContextDep, actor: Authenticated) -> RevokedOut:
    """Revoke every token of yours, this one included (e.g. after a laptop is lost)."""
    return RevokedOut(revoked=tokens.revoke(ctx, actor, None))


@router.get("/admin/security-events", response_model=SecurityEventPage, tags=["admin"])
def org_security_events(
    ctx: ContextDep,
    actor: OrgAdmin,
    window: PageDep,
    type_: Annotated[
        str | None, Query(alias="type", max_length=40, description="e.g. login:failed")
    ] = None,
) -> SecurityEventPage:
    """Sign-ins and refused accesses of your organisation's people, newest first."""
    return security_events.org_events(ctx, actor, window, type_=type_)
