"""JSON API: accounts, keys, cases, transfers, items, receipts and trails."""

from __future__ import annotations

import base64
import re
from typing import Any

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import StreamingResponse

from custody.api.schemas import (
    AckIn,
    ActivateIn,
    BundleOut,
    CaseIn,
    CaseOut,
    ItemCreated,
    ItemIn,
    KeysIn,
    KeysOut,
    LoginIn,
    LoginOut,
    MeOut,
    ProvenEntryOut,
    ReaderOut,
    ReceiptIn,
    SealIn,
    TrailOut,
    TransferIn,
    TransferOut,
)
from custody.domain.policy import parse_scopes
from custody.domain.transfers import parse_duration
from custody.errors import InvalidInput
from custody.http.deps import ContextDep, origin_of
from custody.http.policy import (
    PUBLIC,
    Authenticated,
    ContentReader,
    ContentSender,
    TrailReader,
)
from custody.services import accounts, cases, items, trails, transfers

router = APIRouter(prefix="/api/v1")
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@router.post(
    "/login",
    response_model=LoginOut,
    tags=["accounts"],
    dependencies=[PUBLIC],
    responses={401: {"description": "wrong credentials, or a second-factor code is needed"}},
)
def login(body: LoginIn, ctx: ContextDep, request: Request) -> dict[str, Any]:
    """Password and second factor in; a scoped token out (or an enrolment token, first time)."""
    result = accounts.login(
        ctx,
        body.email,
        body.password,
        code=body.code,
        recovery_code=body.recovery_code,
        scopes=parse_scopes(body.scopes) if body.scopes else None,
        origin=origin_of(request),
        enrolment_code=body.enrolment_code,
    )
    log_key: str | None = request.app.state.log_vkey
    return {
        **result.issued.__dict__,
        "enrolment_required": result.enrolling,
        "log_origin": ctx.origin,
        "log_key": log_key,
    }


@router.post(
    "/activate",
    status_code=204,
    tags=["accounts"],
    dependencies=[PUBLIC],
    responses={401: {"description": "the code is wrong, used or expired"}},
)
def activate(body: ActivateIn, ctx: ContextDep, request: Request) -> Response:
    """A new person chooses their password with the one-time code e-mailed to them."""
    accounts.activate(ctx, body.email, body.code, body.password, origin_of(request))
    return Response(status_code=204)


@router.get("/me", response_model=MeOut, tags=["accounts"])
def me(actor: Authenticated) -> dict[str, Any]:
    return {
        "user_id": actor.user_id,
        "email": actor.email,
        "org_id": actor.org_id,
        "role": actor.role,
    }


@router.post("/keys", response_model=KeysOut, status_code=201, tags=["keys"])
def register_keys(body: KeysIn, ctx: ContextDep, actor: ContentSender) -> accounts.PublicKeys:
    return accounts.register_keys(ctx, actor, body.age_recipient, body.signing_key)


@router.post("/cases", response_model=CaseOut, status_code=201, tags=["cases"])
def create_case(body: CaseIn, ctx: ContextDep, actor: ContentSender) -> dict[str, str]:
    case = cases.create_case(ctx, actor, body.urn)
    return {"id": case.id, "urn": case.urn}


@router.post("/transfers", response_model=TransferOut, status_code=201, tags=["transfers"])
def create_transfer(body: TransferIn, ctx: ContextDep, actor: ContentSender) -> dict[str, Any]:
    ack = parse_duration(body.ack_within) if body.ack_within else None
    transfer, readers = transfers.create_transfer(ctx, actor, body.case, body.to, ack)
    out = transfers.view(ctx, actor, transfer.id)
    out["readers"] = [ReaderOut(**r.__dict__) for r in readers]
    return out


@router.get("/transfers/inbox", response_model=list[TransferOut], tags=["transfers"])
def inbox(ctx: ContextDep, actor: ContentReader) -> list[dict[str, object]]:
    return transfers.inbox(ctx, actor)


@router.get("/transfers/outbox", response_model=list[TransferOut], tags=["transfers"])
def outbox(ctx: ContextDep, actor: ContentReader) -> list[dict[str, object]]:
    return transfers.outbox(ctx, actor)


@router.get("/transfers/{transfer_id}", response_model=TransferOut, tags=["transfers"])
def get_transfer(transfer_id: str, ctx: ContextDep, actor: ContentReader) -> dict[str, object]:
    return transfers.view(ctx, actor, transfer_id)


@router.post(
    "/transfers/{transfer_id}/items",
    response_model=ItemCreated,
    status_code=201,
    tags=["transfers"],
)
def add_item(
    transfer_id: str, body: ItemIn, ctx: ContextDep, actor: ContentSender
) -> dict[str, Any]:
    item = items.add_item(ctx, actor, transfer_id, body.ciphertext_size)
    return {"id": item.id, "position": item.position}


@router.post("/items/{item_id}/seal", status_code=204, tags=["transfers"])
def seal_item(item_id: str, body: SealIn, ctx: ContextDep, actor: ContentSender) -> Response:
    items.seal_item(
        ctx,
        actor,
        item_id,
        sealed_manifest_b64=body.sealed_manifest,
        manifest_sha256=body.manifest_sha256,
        wraps=body.wraps,
    )
    return Response(status_code=204)


@router.post("/transfers/{transfer_id}/send", response_model=TransferOut, tags=["transfers"])
def send(transfer_id: str, ctx: ContextDep, actor: ContentSender) -> dict[str, object]:
    transfers.send(ctx, actor, transfer_id)
    return transfers.view(ctx, actor, transfer_id)


@router.post("/transfers/{transfer_id}/ack", response_model=TransferOut, tags=["transfers"])
def acknowledge(
    transfer_id: str, ctx: ContextDep, actor: ContentReader, body: AckIn | None = None
) -> dict[str, object]:
    """Take responsibility: after your own verified receipt of every item, or saying you did
    not receive it yourself (``without_receipt``), which the ledger records."""
    without = body.without_receipt if body else False
    transfers.acknowledge(ctx, actor, transfer_id, without_receipt=without)
    return transfers.view(ctx, actor, transfer_id)


@router.get(
    "/items/{item_id}/content",
    tags=["transfers"],
    responses={200: {"content": {"application/octet-stream": {}}}, 206: {"description": "a range"}},
)
def download(
    item_id: str,
    ctx: ContextDep,
    actor: ContentReader,
    range_: str | None = Header(default=None, alias="range"),
) -> Response:
    start, end = 0, None
    if range_:
        match = _RANGE.match(range_.strip())
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


@router.post("/items/{item_id}/receipt", status_code=204, tags=["transfers"])
def receipt(item_id: str, body: ReceiptIn, ctx: ContextDep, actor: ContentReader) -> Response:
    items.record_receipt(ctx, actor, item_id, body.manifest_sha256, body.verified, body.reason)
    return Response(status_code=204)


@router.get("/history/{ref}", response_model=list[TrailOut], tags=["ledger"])
def history(ref: str, ctx: ContextDep, actor: TrailReader) -> list[dict[str, Any]]:
    return [
        {
            "index": t.index,
            "type": t.entry.type,
            "time": t.entry.time,
            "actor": t.entry.actor,
            "actor_email": t.actor_email,
            "item": t.entry.item,
            "transfer": t.entry.transfer,
            "data": t.data,
        }
        for t in trails.history(ctx, actor, ref)
    ]


@router.get("/bundle/{ref}", response_model=BundleOut, tags=["ledger"])
def bundle(ref: str, ctx: ContextDep, actor: TrailReader) -> dict[str, Any]:
    material = trails.bundle_material(ctx, actor, ref)
    return {
        "origin": material.origin,
        "checkpoint": material.checkpoint_note.decode("utf-8"),
        "entries": [
            ProvenEntryOut(index=e.index, entry=_b64(e.body), proof=[_b64(h) for h in e.proof])
            for e in material.entries
        ],
        "sealed_manifests": {k: _b64(v) for k, v in material.sealed_manifests.items()},
        "wraps": {k: _b64(v) for k, v in material.wraps.items()},
        "head_proofs": {k: [_b64(h) for h in v] for k, v in material.head_proofs.items()},
    }
