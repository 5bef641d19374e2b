"""JSON API of delivery assurance, second half: sharing, incidents, retention and holds.

Policies (``x-custody-policy``), declared as in ``routes_delivery``: sharing is
``content:send`` (a holder adds a reader), reading a shared item ``content:read``;
incidents, retention and holds are ``authenticated`` because senders, recipients
and organisation admins all take part — who may act on which object is checked in
the services (``incidents``, ``retention``, ``shares``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from custody.api.schemas import Strict
from custody.http.deps import ContextDep
from custody.http.policy import Authenticated, ContentReader, ContentSender
from custody.services import incidents, retention, shares, subjects

router = APIRouter(prefix="/api/v1", tags=["assurance"])
AUTHENTICATED = {"x-custody-policy": "authenticated"}
CONTENT_READ = {"x-custody-policy": "content:read"}
CONTENT_SEND = {"x-custody-policy": "content:send"}


class ShareIn(Strict):
    email: str
    wrap: str
    key_index: int
    expires: str | None = None


class IncidentIn(Strict):
    ref: str
    reason: str


class RetentionIn(Strict):
    ref: str
    until: str | None = None
    for_: str | None = None


class HoldIn(Strict):
    ref: str
    reason: str
    release: bool = False


class SubjectsIn(Strict):
    subjects: list[str]


@router.get("/items/{item_id}", openapi_extra=CONTENT_READ)
def item(item_id: str, ctx: ContextDep, actor: ContentReader) -> dict[str, Any]:
    return shares.item_view(ctx, actor, item_id)


@router.get("/items/{item_id}/share-target", openapi_extra=CONTENT_SEND)
def share_target(item_id: str, email: str, ctx: ContextDep, actor: ContentSender) -> dict[str, Any]:
    return shares.share_target(ctx, actor, item_id, email)


@router.post("/items/{item_id}/shares", status_code=201, openapi_extra=CONTENT_SEND)
def share(item_id: str, body: ShareIn, ctx: ContextDep, actor: ContentSender) -> dict[str, Any]:
    grant = shares.share(
        ctx,
        actor,
        item_id,
        email=body.email,
        wrap_b64=body.wrap,
        key_index=body.key_index,
        expires=body.expires,
    )
    return {"item": grant.item_id, "reader": body.email.lower(), "expires_at": grant.expires_at}


@router.get("/shared", openapi_extra=CONTENT_READ)
def shared(ctx: ContextDep, actor: ContentReader) -> list[dict[str, Any]]:
    return shares.shared_with(ctx, actor)


@router.post("/transfers/{transfer_id}/subjects", status_code=204, openapi_extra=CONTENT_SEND)
def add_subjects(transfer_id: str, body: SubjectsIn, ctx: ContextDep, actor: ContentSender) -> None:
    subjects.attach(ctx, actor, transfer_id, body.subjects)


@router.post("/incidents", status_code=201, openapi_extra=AUTHENTICATED)
def open_incident(body: IncidentIn, ctx: ContextDep, actor: Authenticated) -> dict[str, Any]:
    incident = incidents.open_incident(ctx, actor, body.ref, body.reason)
    return incidents.impact(ctx, actor, incident.id)


@router.get("/incidents/{incident_id}", openapi_extra=AUTHENTICATED)
def show_incident(incident_id: str, ctx: ContextDep, actor: Authenticated) -> dict[str, Any]:
    return incidents.impact(ctx, actor, incident_id)


@router.post("/incidents/{incident_id}/reported", openapi_extra=AUTHENTICATED)
def incident_reported(incident_id: str, ctx: ContextDep, actor: Authenticated) -> dict[str, Any]:
    incidents.mark_reported(ctx, actor, incident_id)
    return incidents.impact(ctx, actor, incident_id)


@router.post("/incidents/{incident_id}/close", openapi_extra=AUTHENTICATED)
def close_incident(incident_id: str, ctx: ContextDep, actor: Authenticated) -> dict[str, Any]:
    incidents.close(ctx, actor, incident_id)
    return incidents.impact(ctx, actor, incident_id)


@router.post("/retention", openapi_extra=AUTHENTICATED)
def set_retention(body: RetentionIn, ctx: ContextDep, actor: Authenticated) -> dict[str, Any]:
    label, until = retention.set_retention(ctx, actor, body.ref, until=body.until, for_=body.for_)
    return {"target": label, "retain_until": until}


@router.post("/holds", openapi_extra=AUTHENTICATED)
def hold(body: HoldIn, ctx: ContextDep, actor: Authenticated) -> dict[str, Any]:
    label = retention.set_hold(ctx, actor, body.ref, body.reason, release=body.release)
    return {"target": label, "legal_hold": not body.release}
