"""Retention and legal holds of a case (its URN) or an item: see when its material is to be
crypto-shredded and the holds that keep it, set or extend the date, place or lift a hold.

The same service and rules as ``custody retention`` and ``custody hold``
(``custody.services.retention``): a date is set by the material's own organisation (an
item's sender or one of its admins; a case's opener or an admin); a hold by an
organisation that holds the material (an admin, or someone who sent it or was given a key
to it). Another organisation's people learn nothing: "no item or case".
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response

from custody.errors import Conflict, CustodyError, InvalidInput
from custody.http.deps import ContextDep, FormDep
from custody.services import retention
from custody.services.context import Actor
from custody.web.pages import SignedIn, WebRoute, field, redirect, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)
Ref = Annotated[str, Query(max_length=100)]


def _page(
    request: Request,
    ctx: ContextDep,
    actor: Actor,
    ref: str,
    *,
    error: CustodyError | None = None,
    status: int = 200,
) -> Response:
    shown = retention.status(ctx, actor, ref) if ref else None
    return render(
        request,
        "retention.html",
        actor=actor,
        title=f"Retention of {shown.label}" if shown else "Retention and legal holds",
        s=shown,
        ref=ref,
        error=error,
        done=request.query_params.get("done", ""),
        status=status,
    )


@router.get("/retention")
def show(request: Request, ctx: ContextDep, actor: SignedIn, ref: Ref = "") -> Response:
    return _page(request, ctx, actor, ref.strip())


@router.post("/retention")
def set_date(request: Request, ctx: ContextDep, actor: SignedIn, fields: FormDep) -> Response:
    """Keep it until a date, or for a period from now (one of the two)."""
    ref = field(fields, "ref", 100)
    until, period = field(fields, "until", 40), field(fields, "period", 10)
    try:
        _one_of(until, period)
        retention.set_retention(ctx, actor, ref, until=until or None, for_=period or None)
    except (InvalidInput, Conflict) as exc:
        return _page(request, ctx, actor, ref, error=exc, status=_status(exc))
    return redirect(f"/retention?ref={quote(ref)}&done=retention")


@router.post("/retention/hold")
def hold(request: Request, ctx: ContextDep, actor: SignedIn, fields: FormDep) -> Response:
    """Place a legal hold of your organisation (``action=place``) or lift it (``lift``)."""
    ref, reason = field(fields, "ref", 100), field(fields, "reason", 1000)
    lift = fields.get("action") == "lift"
    try:
        retention.set_hold(ctx, actor, ref, reason, release=lift)
    except (InvalidInput, Conflict) as exc:
        return _page(request, ctx, actor, ref, error=exc, status=_status(exc))
    return redirect(f"/retention?ref={quote(ref)}&done={'lifted' if lift else 'held'}")


def _one_of(until: str, period: str) -> None:
    if bool(until) == bool(period):
        raise InvalidInput(
            "give either a date or a period, not both",
            hint="for example 2033-01-31, or 7y for seven years",
        )


def _status(exc: CustodyError) -> int:
    return 409 if isinstance(exc, Conflict) else 400
