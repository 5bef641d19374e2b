"""Administration in the browser: people, units and security events for people admins; custody
trails for those who read them (auditors among them), never content.

The same services and policies as ``/api/v1/people``, ``/api/v1/units`` and
``custody people ...`` / ``custody units ...``: an organisation admin reaches their
organisation, a unit admin the officers, prosecutors and paralegals of their unit; anyone
out of reach is "not found" (404), a wrong role "not allowed" (403), and every change and
every refusal is recorded exactly as the CLI's are (security events; ledger entries for
disabling, second-factor resets and new units). Destructive actions need the box "I
confirm" ticked; the server checks it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response

from custody.domain.people import CONTENT_ROLES, Role, parse_role
from custody.domain.policy import Policy
from custody.errors import Conflict, CustodyError, Forbidden, InvalidInput, NotFound
from custody.http.deps import ContextDep, FormDep
from custody.http.errors import status_of
from custody.http.policy import requires
from custody.protocol.people import UnitOut
from custody.services import people, security_events, trails, units
from custody.services.context import Actor, ServiceContext
from custody.services.paging import Window
from custody.web.pages import TrailReader, WebRoute, field, redirect, render, web_hint

router = APIRouter(route_class=WebRoute, include_in_schema=False)

PeopleAdmin = Annotated[Actor, requires(Policy.PEOPLE_ADMIN, web=True)]
OrgAdmin = Annotated[Actor, requires(Policy.ADMIN, web=True)]

After = Annotated[str | None, Query(max_length=200)]
Text = Annotated[str | None, Query(max_length=254)]
PAGE = 50
# What the form offers each kind of admin (the service decides all the same).
ORG_ROLES = [Role.OFFICER, Role.PROSECUTOR, Role.PARALEGAL, Role.UNIT_ADMIN, Role.ADMIN,
             Role.AUDITOR]
UNIT_ROLES = [r for r in ORG_ROLES if r in CONTENT_ROLES]
CONFIRM = "yes"
# What to do when the service's error carries no hint a browser can use.
_FIX = {
    409: "look for it in the lists (it is there already), or change what you typed",
    403: "choose something within your reach, or ask your organisation admin",
    404: "choose from the list offered",
}


def _problem(exc: CustodyError) -> dict[str, Any]:
    """A refusal a person can fix on the same form: shown there, announced, with what to do."""
    status = status_of(exc.code)
    hint = web_hint(exc) or _FIX.get(status, "correct the form and send it again")
    return {"error": exc.message, "error_hint": hint, "status": status}


def _confirmed(fields: dict[str, str], what: str) -> None:
    if fields.get("confirm") != CONFIRM:
        raise InvalidInput(f"{what} was not done: the box confirming it was not ticked",
                           hint="tick the box to confirm, then press the button again")


def _given(email: str) -> None:
    if not email:
        raise InvalidInput("the e-mail address is missing", hint="type the person's address")


def _units(ctx: ServiceContext, actor: Actor) -> list[UnitOut]:
    return units.units_for(ctx, actor)


# ── people ──────────────────────────────────────────────────────────────────────────────────


@router.get("/admin")
def admin_home(actor: PeopleAdmin) -> Response:
    return redirect("/admin/people")


@router.get("/admin/people")
def people_list(
    request: Request, ctx: ContextDep, actor: PeopleAdmin, q: Text = None, after: After = None
) -> Response:
    """Everyone the admin reaches, newest first, 50 a page; a search by e-mail address."""
    page = people.list_people(ctx, actor, Window(PAGE, after), search=q)
    return render(request, "admin_people.html", actor=actor, title="People", page=page,
                  q=q or "", me=actor.user_id)


def _new_form(request: Request, ctx: ServiceContext, actor: Actor, **more: Any) -> Response:
    org_admin = actor.role == Role.ADMIN
    values = {"email": "", "role": Role.OFFICER.value, "unit": "", **more.pop("values", {})}
    return render(request, "admin_person_new.html", actor=actor, title="Add a person",
                  roles=ORG_ROLES if org_admin else UNIT_ROLES, units=_units(ctx, actor),
                  org_admin=org_admin, values=values, **more)


@router.get("/admin/people/new")
def person_new(request: Request, ctx: ContextDep, actor: PeopleAdmin) -> Response:
    return _new_form(request, ctx, actor)


@router.post("/admin/people")
def person_add(request: Request, ctx: ContextDep, actor: PeopleAdmin, fields: FormDep) -> Response:
    """Add a person: a one-time activation code goes to their address only (never to the
    admin), as ``custody people add``; the page says where it went, once."""
    values = {"email": field(fields, "email", 254), "role": field(fields, "role", 20),
              "unit": field(fields, "unit", 80)}
    try:
        _given(values["email"])
        role = parse_role(values["role"])
        unit = values["unit"] or None
        added = people.add_person(ctx, actor, values["email"], role, unit)
    except (InvalidInput, Conflict, Forbidden, NotFound) as exc:
        # All fixable on the form (another role, another unit), so shown there, with the
        # status the API answers; the refusal is recorded as the CLI's is.
        return _new_form(request, ctx, actor, values=values, **_problem(exc))
    # No credential to show: the page says once where the code went (never to the admin).
    return redirect(f"/admin/people/{added.person.id}?done=added")


def _person_page(request: Request, ctx: ServiceContext, actor: Actor, user_id: str,
                 **more: Any) -> Response:
    shown, manageable = people.person(ctx, actor, user_id)
    org_admin = actor.role == Role.ADMIN
    return render(request, "admin_person.html", actor=actor, title=shown.email, p=shown,
                  manageable=manageable, org_admin=org_admin,
                  units=_units(ctx, actor) if org_admin and manageable else [], **more)


@router.get("/admin/people/{user_id}")
def person_page(user_id: str, request: Request, ctx: ContextDep, actor: PeopleAdmin) -> Response:
    done = request.query_params.get("done", "")
    return _person_page(request, ctx, actor, user_id, done=done[:20])


@router.post("/admin/people/{user_id}/disable")
def person_disable(user_id: str, request: Request, ctx: ContextDep, actor: PeopleAdmin,
                   fields: FormDep) -> Response:
    """Disable with a reason, after confirming: tokens revoked, a ledger entry and a
    security event (``people:disabled``), as ``custody people disable``."""
    return _confirmed_action(request, ctx, actor, user_id, fields, "Disabling", people.disable,
                             "disabled")


@router.post("/admin/people/{user_id}/reset-second-factor")
def person_reset(user_id: str, request: Request, ctx: ContextDep, actor: PeopleAdmin,
                 fields: FormDep) -> Response:
    """Clear the person's second factor and tokens with a reason, after confirming; they
    enrol again with a code e-mailed to them only, as ``custody people reset-2fa``."""
    return _confirmed_action(request, ctx, actor, user_id, fields,
                             "Resetting the second factor", people.reset_second_factor, "reset")


def _confirmed_action(request: Request, ctx: ServiceContext, actor: Actor, user_id: str,
                      fields: dict[str, str], what: str,
                      action: Callable[[ServiceContext, Actor, str, str], object],
                      done: str) -> Response:
    """A destructive action on a person: only with the box ticked and a reason; a refusal
    comes back on their page, saying what to do."""
    try:
        _confirmed(fields, what)
        action(ctx, actor, user_id, field(fields, "reason", 300))
    except (InvalidInput, Conflict) as exc:
        return _person_page(request, ctx, actor, user_id, **_problem(exc))
    return redirect(f"/admin/people/{user_id}?done={done}")


@router.post("/admin/people/{user_id}/unit")
def person_move(user_id: str, request: Request, ctx: ContextDep, actor: PeopleAdmin,
                fields: FormDep) -> Response:
    """Move to another unit of the organisation (organisation admins), as ``custody people
    move``: a ``people:moved`` security event."""
    try:
        people.move(ctx, actor, user_id, field(fields, "unit", 80) or None)
    except (InvalidInput, Conflict) as exc:
        return _person_page(request, ctx, actor, user_id, **_problem(exc))
    return redirect(f"/admin/people/{user_id}?done=moved")


# ── units ───────────────────────────────────────────────────────────────────────────────────


def _units_page(request: Request, ctx: ServiceContext, actor: Actor, **more: Any) -> Response:
    return render(request, "admin_units.html", actor=actor, title="Units",
                  units=_units(ctx, actor), org_admin=actor.role == Role.ADMIN, **more)


@router.get("/admin/units")
def units_list(request: Request, ctx: ContextDep, actor: PeopleAdmin) -> Response:
    created = request.query_params.get("created", "")[:80]
    return _units_page(request, ctx, actor, created=created)


@router.post("/admin/units")
def unit_create(request: Request, ctx: ContextDep, actor: OrgAdmin, fields: FormDep) -> Response:
    """A new unit (organisation admins), as ``custody units create``: a ledger entry and a
    ``unit:created`` security event."""
    name = field(fields, "name", 80)
    try:
        made = units.create_unit(ctx, actor.org_id, name, by=actor)
    except (InvalidInput, Conflict) as exc:
        return _units_page(request, ctx, actor, name=name, **_problem(exc))
    return redirect(f"/admin/units?created={made.id}")


# ── security events ─────────────────────────────────────────────────────────────────────────


def _day(text: str | None, what: str) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise InvalidInput(f"the {what} date {text!r} is not a date",
                           hint="use the form's date picker, or type it as 2026-11-30") from None


@router.get("/admin/security-events")
def events_list(
    request: Request,
    ctx: ContextDep,
    actor: PeopleAdmin,
    kind: Annotated[str | None, Query(max_length=40)] = None,
    person: Text = None,
    since: Annotated[str | None, Query(max_length=10)] = None,
    until: Annotated[str | None, Query(max_length=10)] = None,
    after: After = None,
) -> Response:
    """Sign-ins, refusals and admin changes in the admin's reach, newest first, 50 a page;
    filtered by kind, person and date range (``until`` is the last day shown, whole)."""
    form = {"kind": kind or "", "person": person or "", "since": since or "",
            "until": until or ""}
    try:
        last = _day(until, "to")
        f = security_events.EventFilter(
            kind=kind or None, person=person or None, since=_day(since, "from"),
            until=last + timedelta(days=1) if last else None)
        page = security_events.events_in_reach(ctx, actor, Window(PAGE, after), f)
    except InvalidInput as exc:
        return render(request, "admin_events.html", actor=actor, title="Security events",
                      page=None, form=form, query="", **_problem(exc))
    query = urlencode({k: v for k, v in form.items() if v})
    return render(request, "admin_events.html", actor=actor, title="Security events",
                  page=page, form=form, query=query)


# ── custody trails (auditors, unit admins, the parties): the ledger, never content ─────────


@router.get("/audit")
def audit(
    request: Request,
    ctx: ContextDep,
    actor: TrailReader,
    ref: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """The custody trail of a transfer or an item, by id: the same ``trails.history`` as
    ``GET /api/v1/history/{ref}`` and ``custody history``. Who did what and when, from the
    ledger; no file names, no content, no link to save or play anything."""
    ref = (ref or "").strip()
    trail = trails.history(ctx, actor, ref) if ref else None
    return render(request, "audit.html", actor=actor, title="Custody trails", ref=ref,
                  trail=trail)
