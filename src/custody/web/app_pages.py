"""The pages where the browser is a full client: your keys, sending, receiving and playing.

Their scripts (js/src/app, built into static/app/) encrypt, decrypt and verify on the
person's machine and call the JSON API with the session cookie; the server sees only
ciphertext, as with the CLI. These routes render the page shells only.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from custody.http.deps import ContextDep
from custody.web.pages import Reader, WebRoute, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/keys")
def keys(request: Request, ctx: ContextDep, actor: Reader) -> Response:
    """Unlock your key file in this browser, or make keys here; pin the log key."""
    return render(request, "keys.html", actor=actor, title="Your keys", script="app-keys.js")
