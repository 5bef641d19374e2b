"""The browser's player: a viewing, then its byte ranges (decrypted on the viewer's machine)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Response

from custody.http import ranges
from custody.http.deps import ContextDep
from custody.http.openapi import fails
from custody.http.policy import ContentReader
from custody.protocol.codes import ErrorCode
from custody.protocol.transfers import ViewOut
from custody.services import viewing

router = APIRouter(prefix="/api/v1", tags=["transfers"])
_BYTES: dict[str, Any] = {"content": {"application/octet-stream": {}}}


@router.post(
    "/items/{item_id}/views",
    response_model=ViewOut,
    status_code=201,
    responses=fails(ErrorCode.NOT_FOUND, ErrorCode.CONFLICT, ErrorCode.GONE),
)
def start_view(item_id: str, ctx: ContextDep, actor: ContentReader) -> ViewOut:
    """Begin viewing an item you may read: one ``item:viewed`` ledger entry; then fetch its
    ranges by the viewing's id for a few hours."""
    return viewing.start(ctx, actor, item_id)


@router.get(
    "/views/{view_id}/content",
    response_class=Response,
    responses={
        200: {**_BYTES, "description": "the whole ciphertext"},
        206: {**_BYTES, "description": "a range of it"},
        **fails(
            ErrorCode.NOT_FOUND, ErrorCode.CONFLICT, ErrorCode.GONE, ErrorCode.RANGE_NOT_SATISFIABLE
        ),
    },
)
def view_content(
    view_id: str,
    ctx: ContextDep,
    actor: ContentReader,
    range_: Annotated[str | None, Header(alias="range", max_length=100)] = None,
) -> Response:
    """A range of the item being viewed, each checked as a download is, not each logged."""
    start, end = ranges.requested(range_)
    grant = viewing.fetch(ctx, actor, view_id, start, end)
    return ranges.ciphertext(ctx, grant, ranged=range_ is not None)
