"""Inbox, outbox, one transfer with its custody trail, and acknowledging receipt.

The same services and policies as ``/api/v1/transfers/...`` and ``/api/v1/history``.
Content stays end-to-end encrypted: the transfer page's script (js/src/app/transfer-page.ts)
saves and plays it, decrypted and verified in the reader's browser, as ``custody receive``
does on the reader's machine.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from custody.http.deps import ContextDep, FormDep
from custody.services import trails, transfers
from custody.services.transfer_views import TransferQuery
from custody.web.pages import Reader, WebRoute, redirect, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)
After = Annotated[str | None, Query(max_length=200)]


@router.get("/inbox")
def inbox(request: Request, ctx: ContextDep, actor: Reader, after: After = None) -> Response:
    page = transfers.inbox(ctx, actor, TransferQuery(after=after))
    return render(request, "transfers.html", actor=actor, title="Inbox", page=page, inbox=True)


@router.get("/outbox")
def outbox(request: Request, ctx: ContextDep, actor: Reader, after: After = None) -> Response:
    page = transfers.outbox(ctx, actor, TransferQuery(after=after))
    return render(request, "transfers.html", actor=actor, title="Outbox", page=page, inbox=False)


@router.get("/transfers/{transfer_id}")
def transfer(transfer_id: str, request: Request, ctx: ContextDep, actor: Reader) -> Response:
    shown = transfers.view(ctx, actor, transfer_id)
    trail = trails.history(ctx, actor, transfer_id) if shown.items else []
    is_recipient = any(r.user_id == actor.user_id for r in shown.recipients)
    can_ack = is_recipient and shown.state in ("sent", "delivered")
    return render(request, "transfer.html", actor=actor, t=shown, trail=trail, can_ack=can_ack,
                  script="app-transfer.js")


@router.post("/transfers/{transfer_id}/ack")
def acknowledge(transfer_id: str, ctx: ContextDep, actor: Reader, fields: FormDep) -> Response:
    """Acknowledge receipt: a ``transfer:acknowledged`` ledger entry for each item, after the
    person's own verified receipt (saved in this browser, or with ``custody receive``), or
    with the box ticked saying they did not receive it themselves, which is recorded."""
    without = fields.get("without_receipt") == "yes"
    transfers.acknowledge(ctx, actor, transfer_id, without_receipt=without)
    return redirect(f"/transfers/{transfer_id}?acknowledged=1")
