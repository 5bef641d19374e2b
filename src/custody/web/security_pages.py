"""Your sessions and tokens (revoke them), and your security keys (add, remove)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from custody.errors import InvalidInput
from custody.http.deps import SESSION_COOKIE, ContextDep, FormDep, own_origin
from custody.http.errors import error_response
from custody.services import tokens, webauthn_keys
from custody.web.pages import (
    PAGE_HEADERS,
    SignedIn,
    WebRoute,
    clear_cookie,
    field,
    redirect,
    render,
)

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/security")
def security(request: Request, ctx: ContextDep, actor: SignedIn) -> Response:
    return render(request, "security.html", actor=actor, tokens=tokens.list_tokens(ctx, actor),
                  keys=webauthn_keys.list_keys(ctx, actor),
                  added=request.query_params.get("added") == "1")


@router.post("/security/tokens/{token_id}/revoke")
def revoke_token(token_id: str, ctx: ContextDep, actor: SignedIn) -> Response:
    """Revoke one of your sessions or API tokens; revoking this session signs you out."""
    tokens.revoke(ctx, actor, token_id)
    if token_id == actor.token_id:
        response = redirect("/login")
        clear_cookie(response, SESSION_COOKIE)
        return response
    return redirect("/security")


@router.post("/security/keys/options")
def key_options(request: Request, ctx: ContextDep, actor: SignedIn) -> Response:
    """A registration challenge for ``navigator.credentials.create`` (the page's script)."""
    rp = webauthn_keys.relying_party(ctx.settings, own_origin(request, None))
    options = webauthn_keys.registration_options(ctx, actor, rp)
    return Response(options, media_type="application/json", headers=PAGE_HEADERS)


@router.post("/security/keys")
def add_key(request: Request, ctx: ContextDep, actor: SignedIn, fields: FormDep) -> Response:
    """The new key's attestation; stored with its label; a security event."""
    rp = webauthn_keys.relying_party(ctx.settings, own_origin(request, None))
    credential = fields.get("credential", "")[:20000]
    if not credential:
        return error_response(InvalidInput("the security key's answer is missing"), PAGE_HEADERS)
    webauthn_keys.register(ctx, actor, rp, credential, field(fields, "label", 200))
    return JSONResponse({"next": "/security?added=1"}, headers=PAGE_HEADERS)


@router.post("/security/keys/{key_id}/remove")
def remove_key(key_id: str, ctx: ContextDep, actor: SignedIn) -> Response:
    webauthn_keys.remove(ctx, actor, key_id)
    return redirect("/security")
