"""Cases: your cases, opening one (``custody case create``), and a case page by URN with its
transfers, their items, and each item's custody trail as a timeline from the ledger.

The same services and policies as ``GET``/``POST /api/v1/cases``: a case belongs to the
organisation that opened it, and a page shows only the transfers of that URN the person sent
or received. Every timeline entry shows its ledger index, so a person can find it in the
evidence bundle (``/bundle/{transfer}``) and check it offline with ``custody verify``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from custody.errors import Conflict, InvalidInput
from custody.http.deps import ContextDep, FormDep
from custody.http.errors import status_of
from custody.services import cases
from custody.services.paging import Window
from custody.services.transfer_views import is_overdue
from custody.web.pages import Reader, Sender, WebRoute, field, redirect, render, web_hint

router = APIRouter(route_class=WebRoute, include_in_schema=False)
After = Annotated[str | None, Query(max_length=200)]
Urn = Annotated[str, Path(max_length=40)]


@router.get("/cases")
def case_list(request: Request, ctx: ContextDep, actor: Reader, after: After = None) -> Response:
    """The cases you opened, sent material for or received material of, newest opened first."""
    page = cases.cases_of(ctx, actor, Window(after=after))
    return render(request, "cases.html", actor=actor, title="Cases", page=page,
                  opened=request.query_params.get("opened"), first=after is not None)


@router.post("/cases")
def open_case(request: Request, ctx: ContextDep, actor: Sender, fields: FormDep) -> Response:
    """Open your organisation's case with this URN, then go to its page."""
    urn = field(fields, "urn", 40)
    try:
        made = cases.create_case(ctx, actor, urn)
    except (InvalidInput, Conflict) as exc:  # the form again, saying what to do
        page = cases.cases_of(ctx, actor, Window())
        return render(request, "cases.html", actor=actor, title="Cases", page=page, error=exc,
                      hint=web_hint(exc), urn=urn, status=status_of(exc.code), first=False)
    return redirect(f"/cases/{made.urn}?opened=1")


@router.get("/cases/{urn}")
def case(urn: Urn, request: Request, ctx: ContextDep, actor: Reader, after: After = None
         ) -> Response:
    """Case ``urn``: its transfers you sent or received, with their items' custody trails."""
    shown = cases.case_view(ctx, actor, urn, after)
    return render(request, "case.html", actor=actor, title=f"Case {shown.urn}", c=shown,
                  now=ctx.clock.now(), overdue=is_overdue,
                  opened=request.query_params.get("opened") == "1", first=after is not None)
