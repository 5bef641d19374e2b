"""Request dependencies: the service context, the caller's origin, bearer token or session
cookie, and what a web form submitted.

Routes do not authenticate here: each declares a policy with
``custody.http.policy.requires``, which authenticates and decides.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated
from urllib.parse import parse_qsl, urlsplit

from fastapi import Depends, Query, Request

from custody.domain.policy import Policy, Scope, decide
from custody.errors import InvalidInput, NotAuthenticated
from custody.services import tokens
from custody.services.context import Actor, Origin, ServiceContext
from custody.services.paging import DEFAULT_PAGE, MAX_PAGE, Window


def get_context(request: Request) -> ServiceContext:
    ctx: ServiceContext = request.app.state.context
    return ctx


ContextDep = Annotated[ServiceContext, Depends(get_context)]


def origin_of(request: Request) -> Origin:
    return Origin(
        address=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("this needs a login", hint="run `custody login --server URL` first")
    return token.strip()


def get_actor(request: Request, ctx: ContextDep) -> Actor:
    """Any full token (never an enrolment token). Declares no policy: prefer ``requires``."""
    actor = tokens.authenticate(ctx, bearer_token(request))
    decide(Policy.AUTHENTICATED, actor.role, frozenset(Scope(s) for s in actor.scopes))
    origin = origin_of(request)
    return replace(actor, origin=origin)


ActorDep = Annotated[Actor, Depends(get_actor)]


def page_window(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="how many, at most")] = DEFAULT_PAGE,
    after: Annotated[
        str | None, Query(max_length=200, description="the previous page's `next`")
    ] = None,
) -> Window:
    """A list's page: every list endpoint takes ``limit`` and ``after`` and answers ``next``."""
    return Window(limit, after)


PageDep = Annotated[Window, Depends(page_window)]


# ── Browser sessions (custody.web) ─────────────────────────────────────────────────────────

# ``__Host-``: the browser keeps it only if Secure, Path=/ and without Domain (RFC 6265bis §4.1.3).
SESSION_COOKIE = "__Host-custody"
# Before there is a session: the login form's double-submit cookie (login CSRF).
LOGIN_COOKIE = "__Host-custody-login"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_MAX_FIELDS = 50


def session_cookie(request: Request) -> str:
    value = request.cookies.get(SESSION_COOKIE, "")
    if not value:
        raise NotAuthenticated("please sign in first")
    return value


async def form_fields(request: Request) -> dict[str, str]:
    """The fields of an ``application/x-www-form-urlencoded`` body (none for other bodies)."""
    cached: dict[str, str] | None = getattr(request.state, "form_fields", None)
    if cached is not None:
        return cached
    fields: dict[str, str] = {}
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        try:
            text = (await request.body()).decode("utf-8")
            pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=_MAX_FIELDS)
        except (UnicodeDecodeError, ValueError):
            raise InvalidInput("the form could not be read") from None
        fields = dict(pairs)
    request.state.form_fields = fields
    return fields


FormDep = Annotated[dict[str, str], Depends(form_fields)]


def own_origin(request: Request, public_url: str | None) -> str:
    """The origin our pages are served from: ``CUSTODY_PUBLIC_URL``'s, or the request's."""
    if public_url:
        parts = urlsplit(public_url)
        return f"{parts.scheme}://{parts.netloc}"
    return f"{request.url.scheme}://{request.headers.get('host', '')}"


def cross_site(request: Request, public_url: str | None) -> str | None:
    """Why a state-changing request looks cross-site (Fetch Metadata, ``Origin``), or None.

    A request with neither header is not a browser's; the CSRF token still has to match.
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return f"Sec-Fetch-Site: {site[:40]}"
    origin = request.headers.get("origin")
    if origin is not None and origin != own_origin(request, public_url):
        return f"Origin: {origin[:80]}"
    return None


async def submitted_csrf(request: Request) -> str | None:
    return request.headers.get(CSRF_HEADER) or (await form_fields(request)).get(CSRF_FIELD)
