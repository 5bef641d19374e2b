"""Every route declares its policy here; one dependency authenticates and decides.

``requires(Policy.X)`` is a FastAPI dependency that reads the bearer token,
applies :func:`custody.domain.policy.decide` and records a refusal as a
security event (CJIS: every access attempt). It also marks the route: the
authorisation matrix test walks ``app.routes`` and fails on any route that
carries no mark, so a new endpoint cannot slip in undeclared. Per-object
checks (organisation, case, item) stay in the services.

The JSON API also takes the browser session cookie instead of a bearer token, for the
web application's own script (``custody.web``'s send, receive and play pages): the
same policies decide, and a state-changing call must come from our own origin with
the session's CSRF token in ``X-CSRF-Token``. A request with an ``Authorization``
header is judged by that header alone; an API token is never accepted as a cookie,
nor a session as a bearer token.

``requires(Policy.X, web=True)`` is the same for the web application's pages:
the caller is authenticated by the session cookie instead (never by a bearer
token), the same ``decide`` applies, and every state-changing request must
also come from our own origin and carry the session's CSRF token (the login
form's, before there is a session). Refusals are recorded the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute

from custody.domain.policy import Policy, Scope, decide
from custody.errors import Forbidden, NotAuthenticated
from custody.http.deps import (
    CSRF_HEADER,
    LOGIN_COOKIE,
    SAFE_METHODS,
    SESSION_COOKIE,
    ContextDep,
    bearer_token,
    cross_site,
    origin_of,
    session_cookie,
    submitted_csrf,
)
from custody.services import tokens, web_sessions
from custody.services.context import Actor, ServiceContext
from custody.services.security_events import record_alone

_MARK = "__custody_policy__"
_WEB = "__custody_web__"


def requires(policy: Policy, *, web: bool = False) -> Any:
    """A dependency that enforces ``policy`` and declares it on the route that uses it.

    ``web``: a page of the web application, authenticated by the session cookie, with
    CSRF checks on every state-changing request.
    """
    if web:
        return _web_requires(policy)
    if policy is Policy.PUBLIC:

        def public() -> None:
            return None

        setattr(public, _MARK, policy)
        return Depends(public)

    def authorised(request: Request, ctx: ContextDep) -> Actor:
        origin = origin_of(request)
        actor: Actor | None = None
        event, why = "access:denied", ""
        try:
            if "authorization" in request.headers or SESSION_COOKIE not in request.cookies:
                actor = tokens.authenticate(ctx, bearer_token(request))
            else:  # the web application's own script, by its session cookie
                actor = tokens.authenticate(ctx, session_cookie(request), tokens.SESSION)
                if request.method not in SAFE_METHODS:
                    why = _script_csrf_problem(request, ctx, actor)
                    if why:
                        event = "csrf:refused"
                        _refuse_csrf()
            decide(policy, actor.role, frozenset(Scope(s) for s in actor.scopes))
        except (NotAuthenticated, Forbidden) as exc:
            _record_refusal(ctx, request, actor, event, why or exc.code, policy.value)
            raise
        return replace(actor, origin=origin)

    setattr(authorised, _MARK, policy)
    return Depends(authorised)


def _record_refusal(
    ctx: ServiceContext, request: Request, actor: Actor | None, event: str, why: str, label: str
) -> None:
    """A refused request as a security event (CJIS: every access attempt), in its own commit."""
    route = request.scope.get("route")
    where = getattr(route, "path", request.url.path)
    record_alone(
        ctx,
        event,
        origin_of(request),
        user_id=actor.user_id if actor else None,
        org_id=actor.org_id if actor else None,
        detail=f"{request.method} {where}: {why} ({label})",
    )


async def _csrf_problem(request: Request, ctx: ServiceContext, actor: Actor | None) -> str:
    """Why a state-changing web request is refused as cross-site, or "" if it is not."""
    why = cross_site(request, ctx.settings.public_url)
    if why:
        return why
    if actor is not None and actor.token_id is not None:
        expected = web_sessions.csrf_token(ctx, actor.token_id)
    else:  # the login form: its token is bound to the pre-session cookie
        pre = request.cookies.get(LOGIN_COOKIE, "")
        expected = web_sessions.login_csrf_token(ctx, pre) if pre else ""
    given = await submitted_csrf(request)
    if not expected or not web_sessions.same(expected, given):
        return "CSRF token missing or wrong"
    return ""


def _script_csrf_problem(request: Request, ctx: ServiceContext, actor: Actor) -> str:
    """Why a state-changing API call by session cookie is refused as cross-site, or "".

    The page's script sends the session's CSRF token in ``X-CSRF-Token`` (never in a
    form: an API body is JSON or bytes), from our own origin."""
    why = cross_site(request, ctx.settings.public_url)
    if why:
        return why
    expected = web_sessions.csrf_token(ctx, actor.token_id) if actor.token_id else ""
    if not expected or not web_sessions.same(expected, request.headers.get(CSRF_HEADER)):
        return "CSRF token missing or wrong"
    return ""


def _refuse_csrf() -> None:
    raise Forbidden(
        "this form was not accepted: it has expired, or it came from another site",
        hint="go back, reload the page and try again",
    )


def _web_requires(policy: Policy) -> Any:
    async def web_guard(request: Request, ctx: ContextDep) -> Actor | None:
        origin = origin_of(request)
        actor: Actor | None = None
        event, why = "access:denied", ""
        try:
            if policy is not Policy.PUBLIC:
                cookie = session_cookie(request)
                actor = await run_in_threadpool(tokens.authenticate, ctx, cookie, tokens.SESSION)
                decide(policy, actor.role, frozenset(Scope(s) for s in actor.scopes))
            if request.method not in SAFE_METHODS:
                why = await _csrf_problem(request, ctx, actor)
                if why:
                    event = "csrf:refused"
                    _refuse_csrf()
        except (NotAuthenticated, Forbidden) as exc:
            label = f"{policy.value}, web"
            await run_in_threadpool(
                _record_refusal, ctx, request, actor, event, why or exc.code, label
            )
            raise
        if actor is None:
            return None
        return replace(actor, origin=origin)

    setattr(web_guard, _MARK, policy)
    setattr(web_guard, _WEB, True)
    return Depends(web_guard)


PUBLIC = requires(Policy.PUBLIC)
Enrolling = Annotated[Actor, requires(Policy.ENROLMENT)]
Authenticated = Annotated[Actor, requires(Policy.AUTHENTICATED)]
ContentReader = Annotated[Actor, requires(Policy.CONTENT_READ)]
ContentSender = Annotated[Actor, requires(Policy.CONTENT_SEND)]
TrailReader = Annotated[Actor, requires(Policy.AUDIT_READ)]
OrgAdmin = Annotated[Actor, requires(Policy.ADMIN)]
PeopleAdmin = Annotated[Actor, requires(Policy.PEOPLE_ADMIN)]


def _marks(dependant: Dependant) -> list[Policy]:
    found: list[Policy] = []
    for sub in dependant.dependencies:
        mark = getattr(sub.call, _MARK, None)
        if isinstance(mark, Policy):
            found.append(mark)
        found += _marks(sub)
    return found


def is_web(route: BaseRoute) -> bool:
    """True for a web page: authenticated by the session cookie, CSRF-checked."""
    return isinstance(route, APIRoute) and any(
        getattr(sub.call, _WEB, False) for sub in route.dependant.dependencies
    )


def policy_of(route: BaseRoute) -> Policy | None:
    """The one policy a route declares; None if it declares none (or, wrongly, several)."""
    if not isinstance(route, APIRoute):
        return None
    marks = set(_marks(route.dependant))
    return marks.pop() if len(marks) == 1 else None


@dataclass(frozen=True)
class DeclaredRoute:
    """A route as the app serves it (prefix included), with the policy it declares."""

    path: str
    methods: frozenset[str]
    policy: Policy | None
    route: BaseRoute


def declared_routes(routes: Sequence[BaseRoute]) -> list[DeclaredRoute]:
    """Every route of an app, included routers flattened."""
    return [
        DeclaredRoute(
            str(context.path),
            frozenset(context.methods or {"*"}),
            policy_of(context.original_route),
            context.original_route,
        )
        for context in iter_route_contexts(routes)
    ]


def undeclared(routes: Sequence[BaseRoute]) -> list[str]:
    """``METHOD /path`` of every route without exactly one policy."""
    return [
        f"{','.join(sorted(r.methods))} {r.path}"
        for r in declared_routes(routes)
        if r.policy is None
    ]
