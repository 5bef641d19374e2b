"""Inbox, outbox, one transfer with its custody trail, acknowledging receipt, revoking,
sharing an item onward, and the evidence bundle.

The same services and policies as ``/api/v1/transfers/...``, ``/api/v1/history``,
``/api/v1/bundle`` and ``/api/v1/transfers/{id}/revoke``. The lists are pages of the same
keyset query as the API's (newest first, an opaque cursor, at most 50 a page), filtered by a
GET form, so a filtered view has a URL. Content stays end-to-end encrypted: the transfer
page's script (js/src/app/transfer-page.ts) saves and plays it, decrypted and verified in the
reader's browser, as ``custody receive`` does on the reader's machine. Sharing onward is
``custody share``'s: the server checks the reader and the expiry and names the reader's key;
the holder's browser (js/src/app/share-page.ts) proves that key in the ledger, wraps the
item key for it and posts only the wrap to ``POST /api/v1/items/{id}/shares``.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from custody.domain.deadlines import parse_when
from custody.domain.items import ItemState
from custody.domain.people import CONTENT_ROLES
from custody.domain.transfers import TransferState
from custody.errors import Conflict, InvalidInput, NotFound
from custody.http.deps import ContextDep, FormDep
from custody.http.errors import status_of
from custody.protocol.transfers import TransferOut
from custody.services import delivery, shares, trails, transfers
from custody.services.context import Actor
from custody.services.transfer_views import TransferQuery, is_overdue, receipts
from custody.web.pages import (
    PAGE_HEADERS,
    Reader,
    Sender,
    SignedIn,
    TrailReader,
    WebRoute,
    field,
    redirect,
    render,
    web_hint,
)

router = APIRouter(route_class=WebRoute, include_in_schema=False)
Text = Annotated[str | None, Query(max_length=200)]
Ref = Annotated[str, Path(max_length=40)]
PAGE = 50
STATES = [s.value for s in TransferState]


def _filters(
    case: Text = None, state: Text = None, overdue: Text = None, org: Text = None, q: Text = None
) -> dict[str, str]:
    """The filter form's fields as given, empty ones dropped: they make the page's URL."""
    given = {"case": case, "state": state, "overdue": overdue, "org": org, "q": q}
    return {k: v.strip() for k, v in given.items() if v and v.strip()}


Filters = Annotated[dict[str, str], Depends(_filters)]


def _list(request: Request, ctx: ContextDep, actor: Actor, inbox: bool, given: dict[str, str],
          after: str | None) -> Response:
    error = None
    try:
        query = TransferQuery(
            case=given.get("case"),
            state=given.get("state"),
            overdue=given.get("overdue") == "yes",
            org=given.get("org"),
            search=given["q"].lower() if "q" in given and "-" in given["q"] else given.get("q"),
            limit=PAGE,
            after=after,
        )
        listing = transfers.inbox if inbox else transfers.outbox
        page = listing(ctx, actor, query)
    except InvalidInput as exc:
        error, page = exc, None
    next_url = f"?{urlencode({**given, 'after': page.next})}" if page and page.next else None
    return render(
        request,
        "transfers.html",
        actor=actor,
        status=400 if error else 200,
        title="Inbox" if inbox else "Outbox",
        inbox=inbox,
        page=page,
        given=given,
        filtered=bool(given),
        states=STATES,
        error=error,
        first_url="?" + urlencode(given) if after else None,
        next_url=next_url,
        now=ctx.clock.now(),
        overdue=is_overdue,
    )


@router.get("/inbox")
def inbox(request: Request, ctx: ContextDep, actor: Reader, given: Filters,
          after: Text = None) -> Response:
    """Transfers sent to you, newest first, filtered as the form asks."""
    return _list(request, ctx, actor, True, given, after)


@router.get("/outbox")
def outbox(request: Request, ctx: ContextDep, actor: Reader, given: Filters,
           after: Text = None) -> Response:
    """Transfers you sent, newest first, filtered as the form asks."""
    return _list(request, ctx, actor, False, given, after)


@router.get("/transfers/{transfer_id}")
def transfer(transfer_id: Ref, request: Request, ctx: ContextDep, actor: Reader) -> Response:
    shown = transfers.view(ctx, actor, transfer_id)
    trail = trails.history(ctx, actor, transfer_id) if shown.items else []
    is_recipient = any(r.user_id == actor.user_id for r in shown.recipients)
    # A holder of an item's key may share it onward if the policy lets them send (the
    # template asks ``may("content:send")``; the API decides again).
    sharable = {i.id for i in shown.items if i.wrap and i.state == ItemState.SEALED
                and shown.state in ("sent", "delivered", "acknowledged")}
    can_ack = is_recipient and shown.state in ("sent", "delivered")
    can_revoke = shown.sender.user_id == actor.user_id and shown.state in ("sent", "delivered",
                                                                            "acknowledged")
    return render(request, "transfer.html", actor=actor, t=shown, trail=trail, can_ack=can_ack,
                  can_revoke=can_revoke, receipts=receipts(shown, trail),
                  overdue=is_overdue(shown, ctx.clock.now()),
                  revoked=request.query_params.get("revoked") == "1", sharable=sharable,
                  script="app-transfer.js")


# ── Sharing onward (``custody share``) ───────────────────────────────────────────────────

_NO_KEYS_HINT = "ask them to make their keys (in “Your keys”), then share it again"


def _share_page(request: Request, actor: Actor, view: TransferOut, item_id: str, *,
                status: int = 200, **context: object) -> Response:
    return render(request, "share.html", actor=actor, t=view, item=item_id,
                  title="Share an item onward", status=status, **context)


def _given(email: str) -> str:
    if not email:
        raise InvalidInput("enter the e-mail address of the person to share with")
    return email


@router.get("/items/{item_id}/share")
def share_form(item_id: Ref, request: Request, ctx: ContextDep, actor: Sender) -> Response:
    """The form: the reader's e-mail and an expiry. Only a holder of the item's key (whom
    ``GET /api/v1/items/{id}`` answers) sees it; anyone else is refused as the API refuses."""
    view = shares.item_view(ctx, actor, item_id)
    return _share_page(request, actor, view, item_id)


@router.post("/items/{item_id}/share")
def share_confirm(
    item_id: Ref, request: Request, ctx: ContextDep, actor: Sender, fields: FormDep
) -> Response:
    """The confirmation step: the reader and the expiry checked by the server (``share-target``
    and ``parse_when``, as ``custody share``), shown with whom and until when. Nothing is
    shared here: the page's script wraps the key and posts it once the person confirms."""
    view = shares.item_view(ctx, actor, item_id)
    email = field(fields, "email", 254)
    expires = field(fields, "expires", 40)
    try:
        until = parse_when(expires, ctx.clock.now()) if expires else None
        target = shares.share_target(ctx, actor, item_id, _given(email))
    except (InvalidInput, NotFound, Conflict) as exc:
        hint = _NO_KEYS_HINT if "has no keys" in exc.message else web_hint(exc)
        return _share_page(request, actor, view, item_id, status=status_of(exc.code),
                           error=exc, hint=hint, email=email, expires=expires)
    shown = f"until {until:%Y-%m-%d %H:%M} UTC" if until else "with no expiry"
    data = {"item": item_id, "email": target.email, "until": shown,
            "expires": until.isoformat(timespec="seconds") if until else None}
    return _share_page(request, actor, view, item_id, confirm=True, target=target, until=shown,
                       email=email, expires=expires, page_data=data, script="app-share.js")


@router.post("/transfers/{transfer_id}/ack")
def acknowledge(transfer_id: Ref, ctx: ContextDep, actor: Reader, fields: FormDep) -> Response:
    """Acknowledge receipt: a ``transfer:acknowledged`` ledger entry for each item, after the
    person's own verified receipt (saved in this browser, or with ``custody receive``), or
    with the box ticked saying they did not receive it themselves, which is recorded."""
    without = fields.get("without_receipt") == "yes"
    transfers.acknowledge(ctx, actor, transfer_id, without_receipt=without)
    return redirect(f"/transfers/{transfer_id}?acknowledged=1")


@router.get("/transfers/{transfer_id}/revoke")
def revoke_form(transfer_id: Ref, request: Request, ctx: ContextDep, actor: SignedIn) -> Response:
    """The confirmation step: what revoking does, and the reason asked for. The sender, or an
    admin of the sending organisation (``custody revoke``); nobody else learns anything."""
    target = delivery.revocable(ctx, actor, transfer_id)
    return render(request, "revoke.html", actor=actor, t=target, title="Revoke a transfer")


def _confirmed(fields: dict[str, str]) -> None:
    if fields.get("confirm") != "yes":
        raise InvalidInput("tick the box to confirm that you mean to revoke this transfer")


@router.post("/transfers/{transfer_id}/revoke")
def revoke(
    transfer_id: Ref, request: Request, ctx: ContextDep, actor: SignedIn, fields: FormDep
) -> Response:
    """Revoke, once confirmed: every reader but the sender and the recovery keys loses access
    at once, each item's trail records it with the reason, and the readers are told."""
    target = delivery.revocable(ctx, actor, transfer_id)
    reason = field(fields, "reason", delivery.MAX_REASON + 1)
    try:
        _confirmed(fields)
        done = delivery.revoke(ctx, actor, transfer_id, reason)
    except InvalidInput as exc:
        return render(request, "revoke.html", actor=actor, t=target, title="Revoke a transfer",
                      error=exc, reason=reason, status=400)
    if actor.role in {r.value for r in CONTENT_ROLES}:
        return redirect(f"/transfers/{transfer_id}?revoked=1")
    return render(request, "revoke.html", actor=actor, t=done, title="Transfer revoked", done=True)


@router.get("/bundle/{ref}")
def bundle(ref: Ref, ctx: ContextDep, actor: TrailReader) -> Response:
    """The evidence bundle of an item or transfer (``custody verify`` checks it offline), for
    whoever may read its trail, as ``GET /api/v1/bundle/{ref}`` decides."""
    data = trails.server_bundle(ctx, actor, ref)
    headers = {
        **PAGE_HEADERS,
        "Content-Disposition": f'attachment; filename="custody-bundle-{ref}.zip"',
        "X-Content-Type-Options": "nosniff",
    }
    return Response(data, media_type="application/zip", headers=headers)
