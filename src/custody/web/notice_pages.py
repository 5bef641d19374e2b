"""Your notices (what the outbox told you in the application) and which e-mails you get.

The same services as ``GET /api/v1/notices`` and ``custody notices``; the choice of e-mails
is kept per person (``custody.services.notifications``): nobody else sets it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from custody.http.deps import ContextDep, FormDep
from custody.services import notifications, outbox
from custody.services.notifications import Preferences
from custody.services.paging import Window
from custody.web.pages import SignedIn, WebRoute, redirect, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)
After = Annotated[str | None, Query(max_length=200)]


@router.get("/notices")
def notices(request: Request, ctx: ContextDep, actor: SignedIn, after: After = None) -> Response:
    page = outbox.notices_for(ctx, actor.user_id, Window(after=after))
    return render(request, "notices.html", actor=actor, title="Notices", page=page)


@router.get("/settings/notifications")
def settings(request: Request, ctx: ContextDep, actor: SignedIn) -> Response:
    return render(request, "notification_settings.html", actor=actor,
                  chosen=notifications.preferences(ctx, actor),
                  saved=request.query_params.get("saved") == "1", mail=bool(ctx.settings.smtp_host))


@router.post("/settings/notifications")
def save_settings(ctx: ContextDep, actor: SignedIn, fields: FormDep) -> Response:
    """A box left unticked is an e-mail not wanted (a browser sends only ticked boxes)."""
    chosen = Preferences(
        new_transfer=fields.get("new_transfer") == "yes",
        received=fields.get("received") == "yes",
        acknowledged=fields.get("acknowledged") == "yes",
    )
    notifications.set_preferences(ctx, actor, chosen)
    return redirect("/settings/notifications?saved=1")
