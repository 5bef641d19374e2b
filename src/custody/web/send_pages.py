"""Sending from the browser: the page shell of ``/send``.

Its scripts (``js/src/app/send-page.ts`` for the form and progress, ``send-worker.ts`` for
the work) do what ``custody send`` does, on the person's machine: a fresh item key per file,
age encryption while the file streams from disk, an upload of ciphertext only (tus), a
manifest signed with the person's key, a wrap of each item key for every reader whose key
the ledger proves. The server renders the form and answers the JSON API; it never sees a
key, a file name or a byte of plaintext (docs/web.md, "Sending").
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from custody.http.deps import ContextDep
from custody.web.pages import Sender, WebRoute, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)

# One PATCH body, as the CLI sends (client/sending.py's PATCH_BYTES): large enough that a
# request's overhead is small, small enough that a retried one costs little.
PATCH_BYTES = 32 * 1024 * 1024


@router.get("/send")
def send(request: Request, ctx: ContextDep, actor: Sender) -> Response:
    """Choose files, a case and recipients; the page seals and sends them."""
    page_data = {"patch_bytes": PATCH_BYTES, "worker": "/static/app/send-worker.js"}
    return render(request, "send.html", actor=actor, script="app-send.js", page_data=page_data)
