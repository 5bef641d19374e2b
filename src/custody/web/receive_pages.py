"""The player: an item's audio or video, decrypted in the viewer's browser and never saved.

The page is a shell for its script (js/src/app/play-page.ts): it verifies the item's signed
manifest as ``custody receive`` does, starts a viewing (one ``item:viewed`` ledger entry),
and has the service worker answer the ``<video>``'s byte ranges with plaintext decrypted
from the viewing's ciphertext ranges. The route only checks that the person holds a live
key wrap of the item, as ``GET /api/v1/items/{id}`` does (a refusal is recorded there).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from custody.http.deps import ContextDep
from custody.services import shares
from custody.web.pages import Reader, WebRoute, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/play/{item_id}")
def play(item_id: str, request: Request, ctx: ContextDep, actor: Reader) -> Response:
    """Play an item you can read; its name and content are known only to your browser."""
    shown = shares.item_view(ctx, actor, item_id)
    return render(request, "play.html", actor=actor, t=shown, item=shown.items[0],
                  title="Player", script="app-play.js")
