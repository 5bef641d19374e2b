"""Every route declares its policy here; one dependency authenticates and decides.

``requires(Policy.X)`` is a FastAPI dependency that reads the bearer token,
applies :func:`custody.domain.policy.decide` and records a refusal as a
security event (CJIS: every access attempt). It also marks the route: the
authorisation matrix test walks ``app.routes`` and fails on any route that
carries no mark, so a new endpoint cannot slip in undeclared. Per-object
checks (organisation, case, item) stay in the services.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute

from custody.api.deps import ContextDep, bearer_token, origin_of
from custody.domain.policy import Policy, Scope, decide
from custody.errors import Forbidden, NotAuthenticated
from custody.services import tokens
from custody.services.context import Actor
from custody.services.security_events import record_alone

_MARK = "__custody_policy__"


def requires(policy: Policy) -> Any:
    """A dependency that enforces ``policy`` and declares it on the route that uses it."""
    if policy is Policy.PUBLIC:

        def public() -> None:
            return None

        setattr(public, _MARK, policy)
        return Depends(public)

    def authorised(request: Request, ctx: ContextDep) -> Actor:
        origin = origin_of(request)
        actor: Actor | None = None
        try:
            token = bearer_token(request)
            actor = tokens.authenticate(ctx, token)
            decide(policy, actor.role, frozenset(Scope(s) for s in actor.scopes))
        except (NotAuthenticated, Forbidden) as exc:
            route = request.scope.get("route")
            where = getattr(route, "path", request.url.path)
            record_alone(
                ctx,
                "access:denied",
                origin,
                user_id=actor.user_id if actor else None,
                org_id=actor.org_id if actor else None,
                detail=f"{request.method} {where}: {exc.code} ({policy.value})",
            )
            raise
        return replace(actor, address=origin.address, user_agent=origin.user_agent)

    setattr(authorised, _MARK, policy)
    return Depends(authorised)


PUBLIC = requires(Policy.PUBLIC)
Enrolling = Annotated[Actor, requires(Policy.ENROLMENT)]
Authenticated = Annotated[Actor, requires(Policy.AUTHENTICATED)]
ContentReader = Annotated[Actor, requires(Policy.CONTENT_READ)]
ContentSender = Annotated[Actor, requires(Policy.CONTENT_SEND)]
TrailReader = Annotated[Actor, requires(Policy.AUDIT_READ)]
OrgAdmin = Annotated[Actor, requires(Policy.ADMIN)]


def _marks(dependant: Dependant) -> list[Policy]:
    found: list[Policy] = []
    for sub in dependant.dependencies:
        mark = getattr(sub.call, _MARK, None)
        if isinstance(mark, Policy):
            found.append(mark)
        found += _marks(sub)
    return found


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
