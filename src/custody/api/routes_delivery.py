"""JSON API of delivery assurance: revocation, in-app notices, access reports.

Policies (``x-custody-policy``): all three are ``authenticated``; who may act on
which object (sender, unit admin, recipient, auditor) is checked in the services.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from custody.api.schemas import Strict
from custody.http.deps import ContextDep
from custody.http.policy import Authenticated
from custody.services import delivery, outbox, reports

router = APIRouter(prefix="/api/v1", tags=["delivery"])
AUTHENTICATED = {"x-custody-policy": "authenticated"}


class RevokeIn(Strict):
    reason: str


@router.post("/transfers/{transfer_id}/revoke", openapi_extra=AUTHENTICATED)
def revoke(
    transfer_id: str, body: RevokeIn, ctx: ContextDep, actor: Authenticated
) -> dict[str, Any]:
    transfer = delivery.revoke(ctx, actor, transfer_id, body.reason)
    return {"id": transfer.id, "state": transfer.state, "case": transfer.case.urn}


@router.get("/notices", openapi_extra=AUTHENTICATED)
def notices(ctx: ContextDep, actor: Authenticated) -> list[dict[str, object]]:
    return outbox.notices_for(ctx, actor.user_id)


@router.get("/items/{item_id}/report", openapi_extra=AUTHENTICATED)
def report(item_id: str, ctx: ContextDep, actor: Authenticated) -> dict[str, Any]:
    return reports.access_report(ctx, actor, item_id)
