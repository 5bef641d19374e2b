"""Rendering: Jinja2 templates, the pages' headers and cookies, and errors as pages.

Every web route is a :class:`WebRoute`: a custody error raised anywhere in it
(the policy check included) becomes a page with the same status code the JSON
API would answer, or a small JSON error for the security-key script.

Errors no page route answered (an unknown address, a bad form, a server error) become the
same page for a browser's request by :func:`browser_error_page`, which the app installs
(``custody.http.errors.install``): a request outside ``/api/`` that accepts HTML. The JSON
API, tus and the pages' scripts keep the JSON envelope.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Annotated, Any

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from custody.domain.policy import Policy, Scope, permits
from custody.errors import CustodyError
from custody.http.deps import CSRF_FIELD, LOGIN_COOKIE, SESSION_COOKIE
from custody.http.errors import AnsweringRoute, error_response, status_of
from custody.http.middleware import WEB_CONTENT_SECURITY_POLICY
from custody.http.policy import requires
from custody.protocol.codes import ErrorCode
from custody.services import web_sessions
from custody.services.context import Actor, ServiceContext

_env = Environment(
    loader=PackageLoader("custody.web", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _when(value: datetime | str | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.strftime("%Y-%m-%d %H:%M UTC")


_env.filters["when"] = _when

# The web's policies: the same as the matching JSON routes', by session cookie.
WEB_PUBLIC = requires(Policy.PUBLIC, web=True)
SignedIn = Annotated[Actor, requires(Policy.AUTHENTICATED, web=True)]
Reader = Annotated[Actor, requires(Policy.CONTENT_READ, web=True)]
Sender = Annotated[Actor, requires(Policy.CONTENT_SEND, web=True)]
TrailReader = Annotated[Actor, requires(Policy.AUDIT_READ, web=True)]

PAGE_HEADERS = {
    "Content-Security-Policy": WEB_CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-store",
    # Not the API's "no-referrer": under it a browser sends "Origin: null" with our own forms,
    # and the CSRF check needs the real origin. Nothing is sent to other sites either way.
    "Referrer-Policy": "same-origin",
}
# A worker's script (send-worker.js, the service worker): it runs under this, its own
# response's policy, and calls the API on our origin; it loads and shows nothing. The
# workers hash every byte they send or save with hash-wasm's SHA-256 (WebAssembly, about
# ten times JavaScript's speed): compiling WebAssembly needs 'wasm-unsafe-eval', which
# allows no JavaScript eval. The pages hash no streams and keep their policy.
WORKER_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'"
)
LOGIN_COOKIE_SECONDS = 2 * 3600


def render(
    request: Request,
    template: str,
    *,
    actor: Actor | None = None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page; with an actor, its forms carry that session's CSRF token."""
    ctx: ServiceContext = request.app.state.context
    csrf = web_sessions.csrf_token(ctx, actor.token_id) if actor and actor.token_id else ""
    html = _env.get_template(template).render(
        actor=actor,
        may=_may(actor),
        csrf=csrf,
        csrf_field=CSRF_FIELD,
        static=request.app.state.static,
        log_key=request.app.state.log_vkey or "",
        **context,
    )
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)


def signed_out_page(request: Request, template: str, *, status: int = 200,
                    **context: Any) -> HTMLResponse:
    """A page for someone not signed in (signing in, activating an account): the system-use
    notice, and the login CSRF token bound to the pre-session cookie (made if there is none)."""
    ctx: ServiceContext = request.app.state.context
    pre = request.cookies.get(LOGIN_COOKIE) or web_sessions.new_pre_session()
    response = render(
        request,
        template,
        status=status,
        notice=ctx.settings.system_use_notice,
        login_csrf=web_sessions.login_csrf_token(ctx, pre),
        **context,
    )
    set_cookie(response, LOGIN_COOKIE, pre, LOGIN_COOKIE_SECONDS)
    return response


def _may(actor: Actor | None) -> Callable[[str], bool]:
    """``may("content:read")`` in a template: whether this person passes that policy."""
    scopes = frozenset(Scope(s) for s in actor.scopes) if actor else None
    return lambda policy: actor is not None and permits(Policy(policy), actor.role, scopes)


def redirect(to: str) -> RedirectResponse:
    return RedirectResponse(to, status_code=303, headers=PAGE_HEADERS)


def set_cookie(response: Response, name: str, value: str, seconds: int) -> None:
    # __Host-: Secure, Path=/, no Domain. SameSite=Strict: never sent with a cross-site request.
    response.set_cookie(
        name, value, max_age=seconds, path="/", secure=True, httponly=True, samesite="strict"
    )


def clear_cookie(response: Response, name: str) -> None:
    response.delete_cookie(name, path="/", secure=True, httponly=True, samesite="strict")


def set_session(response: Response, token: str, seconds: int) -> None:
    set_cookie(response, SESSION_COOKIE, token, seconds)
    clear_cookie(response, LOGIN_COOKIE)


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


# What a person in the browser can do about each kind of error. The errors' own hints
# are written for the CLI ("run custody login ..."); a page shows one only if it names no
# command.
_WEB_HINTS = {
    ErrorCode.NOT_AUTHENTICATED: "sign in again",
    ErrorCode.SECOND_FACTOR_REQUIRED: "enter the code from your authenticator app",
    ErrorCode.FORBIDDEN: "ask your organisation admin if you need to do this",
    ErrorCode.NOT_FOUND: "check the link, or go back to your inbox",
    ErrorCode.GONE: "ask the sender if you still need this material",
    ErrorCode.STORAGE_FULL: "try again later, and tell the server's operator if it persists",
    ErrorCode.SERVER_ERROR: "try again in a moment",
}
_TITLES = {
    400: "That did not work",
    401: "Please sign in",
    403: "Not allowed",
    404: "Not found",
    500: "Something went wrong",
}


def web_hint(exc: CustodyError) -> str | None:
    if exc.hint and "custody " not in exc.hint and " --" not in exc.hint:
        return exc.hint
    return _WEB_HINTS.get(exc.code)


def error_page(request: Request, exc: CustodyError) -> Response:
    if wants_json(request):
        return error_response(exc, PAGE_HEADERS)
    status = status_of(exc.code)
    return render(
        request,
        "error.html",
        status=status,
        heading=_TITLES.get(status, "That did not work"),
        message=exc.message,
        hint=web_hint(exc),
        signed_out=status == 401,
    )


def is_browser_request(request: Request) -> bool:
    """A browser asking for a page: not the JSON API or tus (``/api/``), and HTML accepted
    (a navigation's ``Accept``; a script's fetch asks for ``*/*`` or JSON)."""
    path = request.url.path
    if path.startswith("/api/") or path == "/api":
        return False
    return "text/html" in request.headers.get("accept", "")


def browser_error_page(request: Request, exc: CustodyError) -> Response | None:
    """An error no page route answered, as a page for a browser; None for anyone else."""
    if not is_browser_request(request):
        return None
    return error_page(request, exc)


class WebRoute(AnsweringRoute):
    """A route whose custody errors become pages (or JSON for the page's own script)."""

    def answer(self, request: Request, exc: CustodyError) -> Response:
        return error_page(request, exc)


def field(fields: Mapping[str, str], name: str, limit: int = 1000) -> str:
    return fields.get(name, "").strip()[:limit]
