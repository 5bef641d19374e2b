"""Signing in and out: the system-use notice, password + code or security key, logout.

``POST /login`` calls the same :func:`custody.services.accounts.login` as the
CLI (throttling, one generic refusal, every attempt recorded), then turns the
token it issues into a browser session. A right password without a second factor yet
gives a session good for enrolment only, and the enrolment page
(:mod:`custody.web.first_sign_in`). With a security key the page's script
asks ``/login/webauthn/options`` (password checked the same way; a second
factor is then needed) and answers at ``/login/webauthn``.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from custody.domain.policy import Scope
from custody.errors import InvalidInput, NotAuthenticated, SecondFactorRequired
from custody.http.deps import (
    SESSION_COOKIE,
    ContextDep,
    FormDep,
    origin_of,
    own_origin,
)
from custody.services import accounts, tokens, web_sessions, webauthn_keys
from custody.services.context import ServiceContext
from custody.web.first_sign_in import home_of, start_session
from custody.web.pages import (
    PAGE_HEADERS,
    WEB_PUBLIC,
    WORKER_CONTENT_SECURITY_POLICY,
    SignedIn,
    WebRoute,
    clear_cookie,
    field,
    redirect,
    set_session,
    signed_out_page,
)

router = APIRouter(route_class=WebRoute, include_in_schema=False)
_TOTP = re.compile(r"^[0-9]{6}$")
ENROL_FIRST = (
    "Set up your authenticator app first: sign in with your password and code instead of a "
    "security key, and the page will take you through it."
)


def _login_page(
    request: Request,
    *,
    status: int = 200,
    message: str = "",
    email: str = "",
    enrolment_code: bool = False,
) -> Response:
    return signed_out_page(request, "login.html", status=status, message=message, email=email,
                           enrolment_code=enrolment_code)


@router.get("/", dependencies=[WEB_PUBLIC])
def home(request: Request, ctx: ContextDep) -> Response:
    """Someone signed in goes to their own home page (an enrolling session to the enrolment
    page); anyone else, or a session no longer good, to the sign-in page."""
    cookie = request.cookies.get(SESSION_COOKIE, "")
    if not cookie:
        return redirect("/login")
    try:
        actor = tokens.authenticate(ctx, cookie, tokens.SESSION)
    except NotAuthenticated:
        return redirect("/login")
    return redirect("/enrol" if Scope.ENROL.value in actor.scopes else home_of(actor.role))


@router.get("/login", dependencies=[WEB_PUBLIC])
def login_form(request: Request, ctx: ContextDep) -> Response:
    """The system-use notice (CJIS 5.5.4) and the sign-in form."""
    return _login_page(request)


def _credentials(fields: dict[str, str]) -> tuple[str, str]:
    email, password = field(fields, "email", 254), fields.get("password", "")[:1000]
    if not email or not password:
        raise InvalidInput("enter your e-mail address and password")
    return email, password


@router.post("/login", dependencies=[WEB_PUBLIC])
def login(request: Request, ctx: ContextDep, fields: FormDep) -> Response:
    try:
        email, password = _credentials(fields)
    except InvalidInput as exc:
        return _login_page(request, status=400, message=exc.message)
    code = field(fields, "code", 40).replace(" ", "")
    totp = code if _TOTP.fullmatch(code) else None
    try:
        result = accounts.login(
            ctx,
            email,
            password,
            code=totp,
            recovery_code=None if totp or not code else code,
            origin=origin_of(request),
            kind=tokens.SESSION,
            enrolment_code=field(fields, "enrolment_code", 100) or None,
            enrol_in_browser=True,  # no second factor yet: this session may only enrol one
        )
    except SecondFactorRequired:
        message = "Enter the code from your authenticator app, or use your security key."
        return _login_page(request, status=401, message=message, email=email)
    except accounts.EnrolmentCodeNeeded:
        message = ("Your second factor was reset: enter the one-time enrolment code e-mailed "
                   "to you, with your password, to set up a new one.")
        return _login_page(
            request, status=401, message=message, email=email, enrolment_code=True
        )
    except NotAuthenticated as exc:
        return _login_page(request, status=401, message=exc.message, email=email)
    return start_session(request, ctx, result.issued)


def _relying_party(request: Request, ctx: ServiceContext) -> webauthn_keys.RelyingParty:
    return webauthn_keys.relying_party(ctx.settings, own_origin(request, None))


@router.post("/login/webauthn/options", dependencies=[WEB_PUBLIC])
def login_key_options(request: Request, ctx: ContextDep, fields: FormDep) -> Response:
    """After a right password: a challenge for the person's security keys."""
    email, password = _credentials(fields)
    rp = _relying_party(request, ctx)
    try:
        accounts.login(ctx, email, password, origin=origin_of(request), kind=tokens.SESSION)
    except SecondFactorRequired:
        options = webauthn_keys.login_options(ctx, email, rp)
        return Response(options, media_type="application/json", headers=PAGE_HEADERS)
    except accounts.EnrolmentNeeded:  # no key can be registered yet: refused, not a success
        raise NotAuthenticated(ENROL_FIRST) from None
    # A right password with a session kind and an enrolled account always needs a factor.
    raise NotAuthenticated("sign in with your security key")


@router.post("/login/webauthn", dependencies=[WEB_PUBLIC])
def login_with_key(request: Request, ctx: ContextDep, fields: FormDep) -> Response:
    """The security key's assertion: a session, as after any login."""
    credential = fields.get("credential", "")
    if not credential:
        raise InvalidInput("the security key's answer is missing")
    rp = _relying_party(request, ctx)
    user_id = webauthn_keys.login(ctx, rp, credential[:20000], origin_of(request))
    issued = web_sessions.issue(ctx, user_id, request.cookies.get(SESSION_COOKIE))
    response = JSONResponse({"next": home_of(issued.role)}, headers=PAGE_HEADERS)
    set_session(response, issued.token, int(web_sessions.lifetime(ctx).total_seconds()))
    return response


@router.post("/logout")
def logout(ctx: ContextDep, actor: SignedIn) -> Response:
    web_sessions.end(ctx, actor)
    response = redirect("/login")
    clear_cookie(response, SESSION_COOKIE)
    return response


@router.get("/static/{path:path}", dependencies=[WEB_PUBLIC])
def static(path: str, request: Request) -> Response:
    """The pages' stylesheet and scripts: only this release's assets (web/assets.py), each
    the bytes its code:release ledger entry names."""
    asset = request.app.state.static.get(path)
    headers = {"Cache-Control": "no-cache"}
    if path.endswith("/sw.js"):  # the service worker decrypts for pages anywhere on the site
        headers["Service-Worker-Allowed"] = "/"
    if path.endswith(("-worker.js", "/sw.js")):
        # A worker runs under its own script's policy, not its page's: the API's allows no
        # connection at all, and a worker's job is calling the API.
        headers["Content-Security-Policy"] = WORKER_CONTENT_SECURITY_POLICY
    return Response(asset.body, media_type=asset.media_type, headers=headers)
