"""Cases, transfers and their items: drafting, sealing, sending, downloading, receipts."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response
from fastapi.responses import StreamingResponse

from custody.domain.transfers import TransferState, parse_duration
from custody.errors import InvalidInput
from custody.http.deps import ContextDep, PageDep
from custody.http.openapi import fails
from custody.http.policy import ContentReader, ContentSender
from custody.protocol.codes import ErrorCode
from custody.protocol.transfers import (
    AckIn,
    CaseIn,
    CaseOut,
    CasePage,
    ItemCreatedOut,
    ItemIn,
    ReceiptIn,
    SealIn,
    SubjectsIn,
    TransferIn,
    TransferOut,
    TransferPage,
)
from custody.services import cases, items, subjects, transfers
from custody.services import transfer_views as views

router = APIRouter(prefix="/api/v1", tags=["transfers"])
_RANGE = re.compile(r"^bytes=([0-9]+)-([0-9]*)$")
# Another's object answers "not found", like one that does not exist (no oracle).
_OBJECT = (ErrorCode.NOT_FOUND,)
# Building your draft: it, or its item, is no longer in a state that allows the step (409).
_DRAFT = fails(*_OBJECT, ErrorCode.CONFLICT)


def _query(
    window: PageDep,
    case: Annotated[str | None, Query(max_length=40, description="a case URN")] = None,
    state: Annotated[
        TransferState | None, Query(description="only transfers in this state")
    ] = None,
    overdue: Annotated[bool, Query(description="past the deadline, not acknowledged")] = False,
    org: Annotated[
        str | None,
        Query(
            max_length=200,
            description="the other party's organisation, by name (any case): the sender's in"
            " an inbox, the recipient's in an outbox",
        ),
    ] = None,
    q: Annotated[
        str | None, Query(max_length=64, description="a case URN or a transfer's whole id")
    ] = None,
) -> views.TransferQuery:
    return views.TransferQuery(
        case, state, overdue, window.limit, window.after, org=org or None, search=q or None
    )


ListQuery = Annotated[views.TransferQuery, Depends(_query)]


@router.post("/cases", response_model=CaseOut, status_code=201, responses=fails(ErrorCode.CONFLICT))
def create_case(body: CaseIn, ctx: ContextDep, actor: ContentSender) -> CaseOut:
    """Open your organisation's case with this URN (another organisation's is its own)."""
    return cases.create_case(ctx, actor, body.urn)


@router.get("/cases", response_model=CasePage)
def list_cases(ctx: ContextDep, actor: ContentReader, window: PageDep) -> CasePage:
    """The cases you opened, sent material for or received material of, newest opened first,
    each with your transfers of it."""
    return cases.cases_of(ctx, actor, window)


@router.post(
    "/transfers",
    response_model=TransferOut,
    status_code=201,
    responses=fails(ErrorCode.NOT_FOUND, ErrorCode.CONFLICT),
)
def create_transfer(body: TransferIn, ctx: ContextDep, actor: ContentSender) -> TransferOut:
    """A draft transfer, and (``readers``) whom each item key must be wrapped for."""
    ack = parse_duration(body.ack_within) if body.ack_within else None
    return transfers.create_transfer(ctx, actor, body.case, body.to, ack)


@router.get("/transfers/inbox", response_model=TransferPage)
def inbox(ctx: ContextDep, actor: ContentReader, query: ListQuery) -> TransferPage:
    """Transfers sent to you, newest first, a page at a time."""
    return transfers.inbox(ctx, actor, query)


@router.get("/transfers/outbox", response_model=TransferPage)
def outbox(ctx: ContextDep, actor: ContentReader, query: ListQuery) -> TransferPage:
    """Transfers you sent, newest first, a page at a time."""
    return transfers.outbox(ctx, actor, query)


@router.get(
    "/transfers/{transfer_id}",
    response_model=TransferOut,
    responses=fails(*_OBJECT, ErrorCode.GONE),
)
def get_transfer(transfer_id: str, ctx: ContextDep, actor: ContentReader) -> TransferOut:
    """A transfer you sent or received, with your own key wraps."""
    return transfers.view(ctx, actor, transfer_id)


@router.post(
    "/transfers/{transfer_id}/items",
    response_model=ItemCreatedOut,
    status_code=201,
    responses=_DRAFT,
)
def add_item(
    transfer_id: str, body: ItemIn, ctx: ContextDep, actor: ContentSender
) -> ItemCreatedOut:
    """A new item of your draft, of this many bytes of ciphertext."""
    return items.add_item(ctx, actor, transfer_id, body.ciphertext_size)


@router.post("/items/{item_id}/seal", status_code=204, responses=_DRAFT)
def seal_item(item_id: str, body: SealIn, ctx: ContextDep, actor: ContentSender) -> Response:
    """Store the item's sealed manifest and a key wrap for every reader."""
    items.seal_item(ctx, actor, item_id, body)
    return Response(status_code=204)


@router.post("/transfers/{transfer_id}/subjects", status_code=204, responses=_DRAFT)
def add_subjects(transfer_id: str, body: SubjectsIn, ctx: ContextDep, actor: ContentSender) -> None:
    """Pseudonymous data-subject references for every item of your draft (never names)."""
    subjects.attach(ctx, actor, transfer_id, body.subjects)


@router.post("/transfers/{transfer_id}/send", response_model=TransferOut, responses=_DRAFT)
def send(transfer_id: str, ctx: ContextDep, actor: ContentSender) -> TransferOut:
    """Send your draft: its recipients see it, and its acknowledgement deadline starts."""
    return transfers.send(ctx, actor, transfer_id)


@router.post(
    "/transfers/{transfer_id}/ack",
    response_model=TransferOut,
    responses=fails(*_OBJECT, ErrorCode.CONFLICT, ErrorCode.GONE),
)
def acknowledge(
    transfer_id: str, ctx: ContextDep, actor: ContentReader, body: AckIn | None = None
) -> TransferOut:
    """Take responsibility: after your own verified receipt of every item, or saying you did
    not receive it yourself (``without_receipt``), which the ledger records."""
    without = body.without_receipt if body else False
    return transfers.acknowledge(ctx, actor, transfer_id, without_receipt=without)


@router.get(
    "/items/{item_id}/content",
    response_class=Response,
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "the ciphertext"},
        206: {"content": {"application/octet-stream": {}}, "description": "a range of it"},
        **fails(*_OBJECT, ErrorCode.CONFLICT, ErrorCode.GONE, ErrorCode.RANGE_NOT_SATISFIABLE),
    },
)
def download(
    item_id: str,
    ctx: ContextDep,
    actor: ContentReader,
    range_: Annotated[str | None, Header(alias="range", max_length=100)] = None,
) -> Response:
    """An item's ciphertext (an age file), or one range of it; each download is recorded."""
    start, end = 0, None
    if range_:
        match = _RANGE.fullmatch(range_.strip())
        if not match:
            raise InvalidInput("only a single 'bytes=START-[END]' range is supported")
        start = int(match[1])
        end = int(match[2]) + 1 if match[2] else None
    grant = items.start_download(ctx, actor, item_id, start, end)
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Length": str(grant.stop - grant.start),
        "Cache-Control": "no-store",
    }
    status = 200
    if range_:
        status = 206
        headers["Content-Range"] = f"bytes {grant.start}-{grant.stop - 1}/{grant.size}"
    return StreamingResponse(
        ctx.blobs.read(grant.blob_key, grant.start, grant.stop),
        status_code=status,
        media_type="application/octet-stream",
        headers=headers,
    )


@router.post("/items/{item_id}/receipt", status_code=204, responses=fails(*_OBJECT, ErrorCode.GONE))
def receipt(item_id: str, body: ReceiptIn, ctx: ContextDep, actor: ContentReader) -> Response:
    """What your client's verification found; both outcomes are recorded."""
    items.record_receipt(ctx, actor, item_id, body.manifest_sha256, body.verified, body.reason)
    return Response(status_code=204)
