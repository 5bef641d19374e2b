"""Second-factor enrolment, the caller's tokens, the system-use notice, security events."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from custody.api.schemas_security import (
    ConfirmIn,
    EnrolledOut,
    EnrolmentOut,
    NoticeOut,
    RevokedOut,
    SecurityEventOut,
    TokenOut,
)
from custody.domain.policy import parse_scopes
from custody.http.deps import ContextDep
from custody.http.policy import PUBLIC, Authenticated, Enrolling, OrgAdmin
from custody.services import second_factor, security_events, tokens

router = APIRouter(prefix="/api/v1")


@router.get("/notice", response_model=NoticeOut, tags=["accounts"], dependencies=[PUBLIC])
def notice(ctx: ContextDep) -> dict[str, str]:
    """The system-use notice every client shows before sign-in (CJIS 5.5.4)."""
    return {"notice": ctx.settings.system_use_notice}


@router.post("/second-factor/enrol", response_model=EnrolmentOut, tags=["accounts"])
def enrol(ctx: ContextDep, actor: Enrolling) -> second_factor.Enrolment:
    """A new TOTP secret for the authenticator app; replaces any unconfirmed one."""
    return second_factor.start_enrolment(ctx, actor)


@router.post("/second-factor/confirm", response_model=EnrolledOut, tags=["accounts"])
def confirm(body: ConfirmIn, ctx: ContextDep, actor: Enrolling, request: Request) -> dict[str, Any]:
    """The first code proves the app has the secret: recovery codes and a full token come back."""
    scopes = parse_scopes(body.scopes) if body.scopes else None
    issued, codes = second_factor.confirm_enrolment(ctx, actor, body.code, scopes)
    log_key: str | None = request.app.state.log_vkey
    return {
        **issued.__dict__,
        "enrolment_required": False,
        "recovery_codes": codes,
        "log_origin": ctx.origin,
        "log_key": log_key,
    }


@router.get("/tokens", response_model=list[TokenOut], tags=["accounts"])
def list_tokens(ctx: ContextDep, actor: Authenticated) -> list[tokens.TokenView]:
    """Your tokens that still work."""
    return tokens.list_tokens(ctx, actor)


@router.delete("/tokens/{token_id}", response_model=RevokedOut, tags=["accounts"])
def revoke_token(token_id: str, ctx: ContextDep, actor: Authenticated) -> dict[str, int]:
    """Revoke one of your tokens; it stops working at once."""
    return {"revoked": tokens.revoke(ctx, actor, token_id)}


@router.delete("/tokens", response_model=RevokedOut, tags=["accounts"])
def revoke_all_tokens(ctx: ContextDep, actor: Authenticated) -> dict[str, int]:
    """Revoke every token of yours, this one included (e.g. after a laptop is lost)."""
    return {"revoked": tokens.revoke(ctx, actor, None)}


@router.get("/admin/security-events", response_model=list[SecurityEventOut], tags=["admin"])
def org_security_events(ctx: ContextDep, actor: OrgAdmin) -> list[security_events.EventView]:
    """Sign-ins and refused accesses of your organisation's people, newest first."""
    return security_events.org_events(ctx, actor)
