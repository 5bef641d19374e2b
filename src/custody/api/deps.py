"""Request dependencies: the service context and the authenticated actor."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from custody.errors import NotAuthenticated
from custody.services import accounts
from custody.services.context import Actor, ServiceContext


def get_context(request: Request) -> ServiceContext:
    ctx: ServiceContext = request.app.state.context
    return ctx


ContextDep = Annotated[ServiceContext, Depends(get_context)]


def get_actor(request: Request, ctx: ContextDep) -> Actor:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise NotAuthenticated("this needs a login", hint="run `custody login --server URL` first")
    actor = accounts.authenticate(ctx, token.strip())
    return Actor(
        actor.user_id,
        actor.email,
        actor.org_id,
        actor.role,
        address=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )


ActorDep = Annotated[Actor, Depends(get_actor)]
