"""Delivery assurance: revocation, notices, access reports, sharing, incidents, retention
and legal holds.

Revocation, notices, reports, incidents, retention and holds are ``authenticated``:
senders, recipients, auditors and organisation admins all take part, and who may act on
which object is decided in the services (``delivery``, ``reports``, ``incidents``,
``retention``). Sharing is ``content:send`` (a holder adds a reader); reading a shared
item is ``content:read``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from custody.http.deps import ContextDep, PageDep
from custody.http.openapi import fails
from custody.http.policy import Authenticated, ContentReader, ContentSender
from custody.protocol.assurance import (
    HoldIn,
    HoldOut,
    ImpactOut,
    IncidentIn,
    IncidentPage,
    NoticePage,
    ReportOut,
    RetentionIn,
    RetentionOut,
    RevokeIn,
    SharedPage,
    ShareIn,
    ShareOut,
    ShareTargetOut,
    TransferStateOut,
)
from custody.protocol.codes import ErrorCode
from custody.protocol.transfers import TransferOut
from custody.services import delivery, incidents, outbox, reports, retention, shares

router = APIRouter(prefix="/api/v1", tags=["assurance"])
_OBJECT = ErrorCode.NOT_FOUND  # another's object answers "not found", like none at all
# Acting on an object: not yours to act on (403), or not in a state that allows it (409).
_ACT = fails(_OBJECT, ErrorCode.FORBIDDEN, ErrorCode.CONFLICT)
# Asking of an object what its state does not allow (409), whoever asks.
_STATE = fails(_OBJECT, ErrorCode.CONFLICT)


@router.post("/transfers/{transfer_id}/revoke", response_model=TransferStateOut, responses=_ACT)
def revoke(
    transfer_id: str, body: RevokeIn, ctx: ContextDep, actor: Authenticated
) -> TransferStateOut:
    """Withdraw every reader but the sender and the recovery keys at once, and tell them."""
    return delivery.revoke(ctx, actor, transfer_id, body.reason)


@router.get("/notices", response_model=NoticePage)
def notices(ctx: ContextDep, actor: Authenticated, window: PageDep) -> NoticePage:
    """Your in-app notices (overdue, revoked, incident, ...), newest first."""
    return outbox.notices_for(ctx, actor.user_id, window)


@router.get("/items/{item_id}/report", response_model=ReportOut, responses=fails(_OBJECT))
def report(item_id: str, ctx: ContextDep, actor: Authenticated) -> ReportOut:
    """Who could read the item, who did and who was refused, each with its ledger entry."""
    return reports.access_report(ctx, actor, item_id)


@router.get(
    "/items/{item_id}", response_model=TransferOut, responses=fails(_OBJECT, ErrorCode.GONE)
)
def item(item_id: str, ctx: ContextDep, actor: ContentReader) -> TransferOut:
    """An item you can read (sent, received or shared with you), in its transfer."""
    return shares.item_view(ctx, actor, item_id)


@router.get("/items/{item_id}/share-target", response_model=ShareTargetOut, responses=_STATE)
def share_target(
    item_id: str,
    ctx: ContextDep,
    actor: ContentSender,
    email: Annotated[str, Query(max_length=254, description="the reader's address")],
) -> ShareTargetOut:
    """Whom your client wraps the item key for: the reader's key and its ledger entry."""
    return shares.share_target(ctx, actor, item_id, email)


@router.post("/items/{item_id}/shares", response_model=ShareOut, status_code=201, responses=_ACT)
def share(item_id: str, body: ShareIn, ctx: ContextDep, actor: ContentSender) -> ShareOut:
    """Add a reader: the item key wrapped by your client for the reader's registered key."""
    return shares.share(ctx, actor, item_id, body)


@router.get("/shared", response_model=SharedPage)
def shared(ctx: ContextDep, actor: ContentReader, window: PageDep) -> SharedPage:
    """Items shared with you that you can still read, newest first."""
    return shares.shared_with(ctx, actor, window)


@router.post("/incidents", response_model=ImpactOut, status_code=201, responses=_STATE)
def open_incident(body: IncidentIn, ctx: ContextDep, actor: Authenticated) -> ImpactOut:
    """Material may be lost or exposed: withdraw every reader but the owners, freeze sharing,
    start the regulator's clock; the impact report comes back."""
    return incidents.open_incident(ctx, actor, body.ref, body.reason)


@router.get("/incidents", response_model=IncidentPage)
def list_incidents(ctx: ContextDep, actor: Authenticated, window: PageDep) -> IncidentPage:
    """The incidents you may read (on transfers you sent or received; an admin: the
    organisation's), newest opened first, each its impact report."""
    return incidents.incidents_of(ctx, actor, window)


@router.get("/incidents/{incident_id}", response_model=ImpactOut, responses=fails(_OBJECT))
def show_incident(incident_id: str, ctx: ContextDep, actor: Authenticated) -> ImpactOut:
    """An incident's impact report."""
    return incidents.impact(ctx, actor, incident_id)


@router.post("/incidents/{incident_id}/reported", response_model=ImpactOut, responses=_ACT)
def incident_reported(incident_id: str, ctx: ContextDep, actor: Authenticated) -> ImpactOut:
    """The regulator was told: the reminders stop."""
    return incidents.mark_reported(ctx, actor, incident_id)


@router.post("/incidents/{incident_id}/close", response_model=ImpactOut, responses=_ACT)
def close_incident(incident_id: str, ctx: ContextDep, actor: Authenticated) -> ImpactOut:
    """Close the incident (access stays withdrawn: share again deliberately)."""
    return incidents.close(ctx, actor, incident_id)


@router.post("/retention", response_model=RetentionOut, responses=_STATE)
def set_retention(body: RetentionIn, ctx: ContextDep, actor: Authenticated) -> RetentionOut:
    """Keep an item, or a case's items, until a date; then they are crypto-shredded."""
    return retention.set_retention(ctx, actor, body.ref, until=body.until, for_=body.for_)


@router.post("/holds", response_model=HoldOut, responses=_ACT)
def hold(body: HoldIn, ctx: ContextDep, actor: Authenticated) -> HoldOut:
    """Set or release your organisation's legal hold: while one stands, nothing shreds."""
    return retention.set_hold(ctx, actor, body.ref, body.reason, release=body.release)
