"""Incidents: open one on a transfer or an item, see its impact report and the regulator's
clock, mark it reported, close it; and the list of those in your reach.

The same service and rules as ``/api/v1/incidents`` and ``custody incident ...``
(``custody.services.incidents``): the sender, the recipients and the admins of either
organisation may open and read one; only an admin or whoever opened it marks it reported
or closes it. Anyone else is told there is no such incident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from custody.domain.people import Role
from custody.errors import Conflict, CustodyError, InvalidInput
from custody.http.deps import ContextDep, FormDep
from custody.protocol.assurance import ImpactOut
from custody.services import incidents
from custody.services.context import Actor
from custody.services.paging import Window
from custody.web.pages import SignedIn, WebRoute, field, redirect, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)
After = Annotated[str | None, Query(max_length=200)]
Ref = Annotated[str, Query(max_length=100)]


@dataclass(frozen=True)
class RegulatorClock:
    """The regulator's deadline (72 hours from opening, under UK GDPR), as a person reads it."""

    state: str  # running | overdue | reported | closed
    words: str

    @classmethod
    def of(cls, incident: ImpactOut, now: datetime) -> RegulatorClock:
        if incident.reported_at is not None:
            when = f"{incident.reported_at:%Y-%m-%d %H:%M} UTC"
            return cls("reported", f"Reported to the regulator {when}")
        left = incident.regulator_deadline - now
        if incident.closed_at is not None:
            return cls("closed", "Closed without being marked reported")
        if left <= timedelta(0):
            return cls("overdue", f"Overdue by {_span(-left)}: report it to the regulator now")
        return cls("running", f"{_span(left)} left to report it to the regulator")


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _may_mark(actor: Actor, incident: ImpactOut) -> bool:
    return actor.role == Role.ADMIN.value or actor.email == incident.opened_by


@router.get("/incidents")
def list_incidents(
    request: Request, ctx: ContextDep, actor: SignedIn, after: After = None
) -> Response:
    page = incidents.incidents_of(ctx, actor, Window(after=after))
    now = ctx.clock.now()
    rows = [(i, RegulatorClock.of(i, now)) for i in page.incidents]
    return render(
        request, "incidents.html", actor=actor, title="Incidents", rows=rows, next=page.next
    )


@router.get("/incidents/new")
def new_incident(request: Request, actor: SignedIn, ref: Ref = "") -> Response:
    return _incident_form(request, actor, ref.strip())


@router.post("/incidents")
def open_incident(request: Request, ctx: ContextDep, actor: SignedIn, fields: FormDep) -> Response:
    """Open it; a form that cannot be taken as it is comes back with what to change."""
    ref, reason = field(fields, "ref", 100), field(fields, "reason", 1000)
    try:
        opened = incidents.open_incident(ctx, actor, _ref(ref), reason)
    except (InvalidInput, Conflict) as exc:
        status = 409 if isinstance(exc, Conflict) else 400
        return _incident_form(request, actor, ref, reason, exc, status)
    return redirect(f"/incidents/{opened.id}?opened=1")


def _incident_form(
    request: Request,
    actor: Actor,
    ref: str,
    reason: str = "",
    error: CustodyError | None = None,
    status: int = 200,
) -> Response:
    """The form to open an incident: empty, or as sent with what to change."""
    return render(request, "incident_new.html", actor=actor, ref=ref, reason=reason, error=error,
                  status=status)


def _ref(ref: str) -> str:
    if not ref:
        raise InvalidInput(
            "give the transfer or item the incident is about",
            hint="paste its id from the transfer's page",
        )
    return ref


@router.get("/incidents/{incident_id}")
def show_incident(incident_id: str, request: Request, ctx: ContextDep, actor: SignedIn) -> Response:
    incident = incidents.impact(ctx, actor, incident_id)
    return render(
        request,
        "incident.html",
        actor=actor,
        title=f"Incident {incident.id}",
        i=incident,
        clock=RegulatorClock.of(incident, ctx.clock.now()),
        may_mark=_may_mark(actor, incident),
        done=request.query_params.get("opened") or request.query_params.get("done") or "",
    )


@router.post("/incidents/{incident_id}/reported")
def mark_reported(incident_id: str, ctx: ContextDep, actor: SignedIn) -> Response:
    incidents.mark_reported(ctx, actor, incident_id)
    return redirect(f"/incidents/{incident_id}?done=reported")


@router.post("/incidents/{incident_id}/close")
def close_incident(incident_id: str, ctx: ContextDep, actor: SignedIn) -> Response:
    incidents.close(ctx, actor, incident_id)
    return redirect(f"/incidents/{incident_id}?done=closed")
