"""A person's first sign-in, in the browser alone: what ``custody login`` does at a terminal.

1. ``/activate``: the system-use notice, then the e-mail address, the one-time activation
   code (e-mailed to them, or handed over by the operator) and the password they choose —
   :func:`custody.services.accounts.activate`, as ``custody login --activation-code``
   (throttled, recorded, one generic refusal). A person whose admin set a first password
   signs in at ``/login`` instead.
2. Then, or at ``/login`` with a right password and no second factor yet, a session good
   for enrolment only (the CLI's enrolment token, as a cookie): ``/enrol`` shows a new TOTP
   secret as a QR code drawn here as SVG (segno; nothing leaves the server) and as text,
   and one code from the app confirms it
   (:func:`custody.services.second_factor.confirm_enrolment`).
3. The confirmation's answer is the only place the ten recovery codes are ever shown: the
   page is not cached, and a reload re-sends the form, which a full session is refused
   (the enrolment is over). It offers to add a security key (``/security``) next.
"""

from __future__ import annotations

from typing import Annotated

import segno
from fastapi import APIRouter, Request, Response
from markupsafe import Markup

from custody.domain.people import CONTENT_ROLES
from custody.domain.policy import Policy
from custody.errors import InvalidInput, NotAuthenticated
from custody.http.deps import SESSION_COOKIE, ContextDep, FormDep, origin_of
from custody.http.policy import requires
from custody.services import accounts, second_factor, tokens, web_sessions
from custody.services.context import Actor, ServiceContext
from custody.web.pages import (
    WEB_PUBLIC,
    WebRoute,
    field,
    redirect,
    render,
    set_session,
    signed_out_page,
)

router = APIRouter(route_class=WebRoute, include_in_schema=False)
Enrolling = Annotated[Actor, requires(Policy.ENROLMENT, web=True)]
# A message, not a password.
PASSWORD_MISMATCH = "the two passwords are not the same: type the same password twice"  # noqa: S105  # nosec B105


def session_seconds(ctx: ServiceContext) -> int:
    return int(web_sessions.lifetime(ctx).total_seconds())


def _activate_page(
    request: Request, *, status: int = 200, message: str = "", email: str = ""
) -> Response:
    return signed_out_page(request, "activate.html", status=status, message=message, email=email)


@router.get("/activate", dependencies=[WEB_PUBLIC])
def activate_form(request: Request, ctx: ContextDep) -> Response:
    """The system-use notice, and the form a new person sets their password with."""
    return _activate_page(request)


@router.post("/activate", dependencies=[WEB_PUBLIC])
def activate(request: Request, ctx: ContextDep, fields: FormDep) -> Response:
    email = field(fields, "email", 254)
    code = field(fields, "activation_code", 100)
    password, again = fields.get("password", "")[:1000], fields.get("password_again", "")[:1000]
    problem = ""
    if not email or not code or not password:
        problem = "enter your e-mail address, the activation code and a password"
    elif password != again:
        problem = PASSWORD_MISMATCH
    else:
        try:
            accounts.check_password(password)
        except InvalidInput as exc:
            problem = exc.message
    if problem:
        return _activate_page(request, status=400, message=problem, email=email)
    origin = origin_of(request)
    try:
        accounts.activate(ctx, email, code, password, origin)
        result = accounts.login(
            ctx, email, password, origin=origin, kind=tokens.SESSION, enrol_in_browser=True
        )
    except NotAuthenticated as exc:
        return _activate_page(request, status=401, message=exc.message, email=email)
    return start_session(request, ctx, result.issued)


def start_session(request: Request, ctx: ServiceContext, issued: tokens.IssuedToken) -> Response:
    """After a sign-in: the new session's cookie (any the browser had ends: no fixation), and
    the person's next page."""
    web_sessions.rotate(ctx, request.cookies.get(SESSION_COOKIE))
    enrolling = "enrol" in issued.scopes.split()
    response = redirect("/enrol" if enrolling else home_of(issued.role))
    set_session(response, issued.token, session_seconds(ctx))
    return response


def home_of(role: str) -> str:
    """Where a person lands after signing in: their inbox, their people (organisation and unit
    admins), the custody trails (auditors)."""
    if role in CONTENT_ROLES:
        return "/inbox"
    return {"admin": "/admin/people", "unit-admin": "/admin/people", "auditor": "/audit"}.get(
        role, "/security"
    )


def qr_svg(uri: str) -> Markup:
    """The ``otpauth://`` URI as an inline SVG QR code: presentation attributes only (the CSP
    allows no inline style), a title for screen readers."""
    svg = segno.make(uri, error="m").svg_inline(
        scale=5, border=4, dark="#000", light="#fff", title="QR code for your authenticator app"
    )
    svg = svg.replace("<svg ", '<svg role="img" aria-labelledby="qr-title" id="qr" ', 1)
    # segno's own markup of a URI we made (base32 secret, e-mail escaped by segno): no input
    # of the person's is spliced in unescaped.
    return Markup(svg.replace("<title>", '<title id="qr-title">', 1))  # noqa: S704  # nosec B704


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _enrol_page(
    request: Request, ctx: ServiceContext, actor: Actor, *, status: int = 200, message: str = ""
) -> Response:
    made = second_factor.pending_enrolment(ctx, actor)
    return render(
        request,
        "enrol.html",
        actor=actor,  # its forms carry this session's CSRF token
        status=status,
        enrolling=True,  # no navigation: this session may only enrol
        qr=qr_svg(made.uri),
        secret=_grouped(made.secret),
        message=message,
    )


@router.get("/enrol")
def enrol_form(request: Request, ctx: ContextDep, actor: Enrolling) -> Response:
    """The authenticator app's secret as a QR code and as text, and the code that confirms
    it. Only a session good for enrolment may see it (once enrolled, nobody: 403)."""
    return _enrol_page(request, ctx, actor)


@router.post("/enrol")
def enrol(request: Request, ctx: ContextDep, fields: FormDep, actor: Enrolling) -> Response:
    code = field(fields, "code", 20).replace(" ", "")
    if not code:
        message = "enter the 6-digit code your authenticator app shows now"
        return _enrol_page(request, ctx, actor, status=400, message=message)
    try:
        issued, codes = second_factor.confirm_enrolment(
            ctx, actor, code, None, kind=tokens.SESSION
        )
    except NotAuthenticated as exc:
        message = (f"{exc.message}: check that your device's clock is right and type the "
                   "code the app shows now")
        return _enrol_page(request, ctx, actor, status=400, message=message)
    signed_in = tokens.authenticate(ctx, issued.token, tokens.SESSION)
    response = render(
        request,
        "recovery_codes.html",
        actor=signed_in,
        codes=codes,
        next_page=home_of(issued.role),
    )
    set_session(response, issued.token, session_seconds(ctx))
    return response
