"""Request dependencies: the service context, the caller's origin and bearer token.

Routes do not authenticate here: each declares a policy with
``custody.api.policy.requires``, which authenticates and decides.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import Depends, Request

from custody.domain.policy import Policy, Scope, decide
from custody.errors import NotAuthenticated
from custody.services import tokens
from custody.services.context import Actor, ServiceContext
from custody.services.security_events import Origin


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
    return replace(actor, address=origin.address, user_agent=origin.user_agent)


ActorDep = Annotated[Actor, Depends(get_actor)]
