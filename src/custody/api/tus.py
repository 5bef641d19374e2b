"""Resumable uploads, tus 1.0.0: core, creation, termination and checksum.

https://tus.io/protocols/resumable-upload — owned here because the protocol is
small and we need authorisation on every request. A PATCH is written in
batches; bytes that arrived before a client went away stay, which is what
makes the upload resumable. A PATCH whose ``Upload-Checksum`` fails is rolled
back to where it started (checksum extension, status 460).

Errors are answered like every other custody error (``custody.http.errors``: the
status by the one table, the JSON envelope) with the headers tus asks for on top:
``Tus-Resumable`` always, ``Tus-Version`` on 412, ``Upload-Offset`` where it moved.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import re
from collections.abc import Iterator
from typing import Any

import google_crc32c
from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from custody import faults
from custody.errors import (
    ChecksumMismatch,
    Conflict,
    CustodyError,
    InvalidInput,
    PreconditionFailed,
    UnsupportedMediaType,
)
from custody.http.deps import ContextDep
from custody.http.errors import AnsweringRoute, error_response
from custody.http.openapi import fails
from custody.http.policy import PUBLIC, ContentSender
from custody.protocol.codes import ErrorCode
from custody.services import uploads

TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,termination,checksum"
_BATCH = 16 * 1024 * 1024
# A PATCH's checksum guards its bytes on the way; the blob's SHA-256 (the ledger's) is computed
# separately. crc32c is what custody's CLI sends: done by the CPU's instruction, about 0.07
# CPU s a GB here against 0.49 for sha256 (bench/throughput.py, issue 12). The browser sends
# sha256, which WebCrypto has.
_ALGORITHMS: dict[str, Any] = {
    "sha256": hashlib.sha256,
    "crc32c": google_crc32c.Checksum,
    "sha1": hashlib.sha1,
}
# tus 1.0.0 §Headers: Upload-Length and Upload-Offset are non-negative integers. ASCII digits
# only: str.isdigit() and int() also take "²" or "٣". 18 digits keep int() cheap and the
# value inside a 64-bit column; no upload comes near 10^18 bytes.
_DECIMAL = re.compile(r"[0-9]{1,18}")


def _headers(**extra: str) -> dict[str, str]:
    return {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store", **extra}


class OffsetConflict(Conflict):
    """The PATCH does not start where the upload stands (tus: 409 with the offset)."""

    def __init__(self, offset: int) -> None:
        super().__init__(f"the upload is at offset {offset}; HEAD it and resume from there")
        self.offset = offset


class ChecksumRefused(ChecksumMismatch):
    """The PATCH's bytes do not match its ``Upload-Checksum``; they were not kept."""

    def __init__(self, offset: int) -> None:
        super().__init__("Upload-Checksum does not match the bytes received; send them again")
        self.offset = offset


class TusRoute(AnsweringRoute):
    """A tus route: its errors carry the headers tus asks for."""

    def answer(self, request: Request, exc: CustodyError) -> Response:
        extra = _headers()
        if isinstance(exc, PreconditionFailed):
            extra["Tus-Version"] = TUS_VERSION
        offset = getattr(exc, "offset", None)
        if isinstance(offset, int):
            extra["Upload-Offset"] = str(offset)
        return error_response(exc, extra)


router = APIRouter(prefix="/api/v1/uploads", tags=["uploads"], route_class=TusRoute)


def _header(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": True,
        "schema": schema,
        "description": description,
    }


_DIGITS = {"type": "string", "pattern": "^[0-9]{1,18}$"}
_TUS_RESUMABLE = _header("Tus-Resumable", "the tus version", {"type": "string", "enum": ["1.0.0"]})
_ANSWER_HEADERS = {"Tus-Resumable": {"schema": {"type": "string"}, "required": True}}


def _answers(status: int, description: str, *headers: str) -> dict[int | str, dict[str, Any]]:
    """A tus answer: no body, tus's headers (documented for the OpenAPI document)."""
    shown = {h: {"schema": {"type": "string"}, "required": True} for h in headers}
    return {status: {"description": description, "headers": {**_ANSWER_HEADERS, **shown}}}


def _operation(
    summary: str,
    answer: dict[int | str, dict[str, Any]],
    failures: dict[int | str, dict[str, Any]],
    *parameters: dict[str, Any],
    **extra: Any,
) -> dict[str, Any]:
    """A tus operation's route arguments: no body of its own (tus's headers carry the answer),
    and for the OpenAPI document its summary, answers and headers, ``Tus-Resumable`` first."""
    return {
        "summary": summary,
        "response_class": Response,
        "responses": {**answer, **failures},
        "openapi_extra": {"parameters": [_TUS_RESUMABLE, *parameters], **extra},
    }


def _require_tus(request: Request) -> None:
    if request.headers.get("tus-resumable") != TUS_VERSION:
        raise PreconditionFailed("this endpoint speaks tus 1.0.0: send 'Tus-Resumable: 1.0.0'")


def _response(status: int, **headers: str) -> Response:
    return Response(status_code=status, headers=_headers(**headers))


def _decimal(header: str | None) -> int | None:
    """The header's value if it is a plain ASCII decimal number, else None."""
    if header is None or not _DECIMAL.fullmatch(header):
        return None
    return int(header)


def _metadata(header: str | None) -> dict[str, str]:
    """Upload-Metadata: comma-separated ``key base64value`` pairs."""
    result: dict[str, str] = {}
    for pair in (header or "").split(","):
        if not pair.strip():
            continue
        key, _, value = pair.strip().partition(" ")
        try:
            result[key] = base64.b64decode(value, validate=True).decode("utf-8") if value else ""
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidInput(f"Upload-Metadata value for {key!r} is not base64") from None
    return result


@router.options("", include_in_schema=False, dependencies=[PUBLIC])
def options(ctx: ContextDep) -> Response:
    return _response(
        204,
        **{
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": EXTENSIONS,
            "Tus-Max-Size": str(ctx.settings.max_upload_bytes),
            "Tus-Checksum-Algorithm": ",".join(_ALGORITHMS),
        },
    )


@router.post(
    "",
    status_code=201,
    **_operation(
        "Create an upload (tus creation)",
        _answers(201, "the upload (Location) and where it stands", "Location", "Upload-Offset"),
        fails(
            ErrorCode.INVALID_INPUT,
            ErrorCode.NOT_FOUND,
            ErrorCode.CONFLICT,
            ErrorCode.PRECONDITION_FAILED,
        ),
        _header("Upload-Length", "the ciphertext's size in bytes", _DIGITS),
        _header(
            "Upload-Metadata",
            "'item ' and the base64 of the item id",
            {"type": "string", "pattern": "^item [A-Za-z0-9+/=]+$"},
        ),
    ),
)
def create(request: Request, ctx: ContextDep, actor: ContentSender) -> Response:
    _require_tus(request)
    length = _decimal(request.headers.get("upload-length"))
    if length is None:
        raise InvalidInput(
            "Upload-Length must be a non-negative integer in ASCII digits "
            "(deferred length is not supported)"
        )
    item_id = _metadata(request.headers.get("upload-metadata")).get("item")
    if not item_id:
        raise InvalidInput("Upload-Metadata must name the item: 'item <base64 item id>'")
    status = uploads.create(ctx, actor, item_id, length)
    offset = str(status.offset)  # not 0 when the sender asks again for the upload it lost
    return _response(201, Location=f"/api/v1/uploads/{status.id}", **{"Upload-Offset": offset})


@router.head(
    "/{upload_id}",
    **_operation(
        "Where an upload stands (tus core)",
        _answers(200, "where the upload stands", "Upload-Offset", "Upload-Length"),
        fails(ErrorCode.NOT_FOUND, ErrorCode.PRECONDITION_FAILED),
    ),
)
def head(upload_id: str, request: Request, ctx: ContextDep, actor: ContentSender) -> Response:
    _require_tus(request)
    status = uploads.status(ctx, actor, upload_id)
    if status.offset == status.length and not status.complete:
        # Every byte arrived but the node died before publishing them (its last PATCH was
        # written, its answer never sent): the resuming client's HEAD completes it.
        uploads.finish(ctx, actor, upload_id)
    return _response(
        200, **{"Upload-Offset": str(status.offset), "Upload-Length": str(status.length)}
    )


@router.patch(
    "/{upload_id}",
    status_code=204,
    **_operation(
        "Append bytes (tus core, checksum)",
        _answers(204, "the bytes are kept; the new offset", "Upload-Offset"),
        fails(
            ErrorCode.INVALID_INPUT,
            ErrorCode.NOT_FOUND,
            ErrorCode.CONFLICT,
            ErrorCode.PRECONDITION_FAILED,
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            ErrorCode.CHECKSUM_MISMATCH,
            ErrorCode.STORAGE_FULL,
        ),
        _header("Upload-Offset", "where these bytes start", _DIGITS),
        {
            "name": "Upload-Checksum",
            "in": "header",
            "required": False,
            "schema": {"type": "string"},
            "description": (
                "'sha256 ' and the base64 of the body's SHA-256, or 'crc32c ' and the base64 of "
                "its CRC-32C (4 bytes, big-endian); a mismatch is refused with 460"
            ),
        },
        requestBody={
            "required": True,
            "content": {
                "application/offset+octet-stream": {
                    "schema": {"type": "string", "format": "binary"}
                }
            },
        },
    ),
)
async def patch(
    upload_id: str, request: Request, ctx: ContextDep, actor: ContentSender
) -> Response:
    _require_tus(request)
    offset, checksum = _patch_preconditions(request)
    current = await run_in_threadpool(uploads.status, ctx, actor, upload_id)
    if current.complete or current.offset != offset:
        raise OffsetConflict(current.offset)
    start = offset
    digest = checksum[0]() if checksum else None
    batch: list[bytes] = []
    batched = 0
    # One batch is written (in a worker thread) while the next one arrives, so the
    # network and the disk work at the same time; at most two batches are in memory.
    # The pieces as they came are written and hashed there (the Upload-Checksum digest
    # too, off the event loop): never joined, never copied.
    writing: asyncio.Future[int] | None = None
    try:
        async for chunk in request.stream():
            batch.append(chunk)
            batched += len(chunk)
            if batched >= _BATCH:
                if writing is not None:
                    offset = await writing
                writing = asyncio.ensure_future(
                    run_in_threadpool(
                        uploads.append, ctx, actor, upload_id, offset, _hashed(batch, digest)
                    )
                )
                batch, batched = [], 0
    finally:
        # Keep what arrived even if the client went away mid-request.
        if writing is not None:
            offset = await writing
        if batch:
            offset = await run_in_threadpool(
                uploads.append, ctx, actor, upload_id, offset, _hashed(batch, digest)
            )
    faults.point("tus.after_append")
    if checksum and digest is not None and digest.digest() != checksum[1]:
        await run_in_threadpool(ctx.blobs.truncate_upload, upload_id, start)
        raise ChecksumRefused(start)
    status = await run_in_threadpool(uploads.status, ctx, actor, upload_id)
    if status.offset == status.length and not status.complete:
        await run_in_threadpool(uploads.finish, ctx, actor, upload_id)
    return _response(204, **{"Upload-Offset": str(offset)})


def _hashed(chunks: list[bytes], digest: Any) -> Iterator[bytes]:
    """``chunks``, each added to ``digest`` (if any) as it is written."""
    for chunk in chunks:
        if digest is not None:
            digest.update(chunk)
        yield chunk


def _patch_preconditions(request: Request) -> tuple[int, tuple[Any, bytes] | None]:
    if request.headers.get("content-type") != "application/offset+octet-stream":
        raise UnsupportedMediaType("PATCH needs Content-Type: application/offset+octet-stream")
    offset = _decimal(request.headers.get("upload-offset"))
    if offset is None:
        raise InvalidInput(
            "Upload-Offset must be a non-negative integer in ASCII digits; HEAD the upload"
        )
    checksum_header = request.headers.get("upload-checksum")
    if checksum_header is None:
        return offset, None
    algorithm, _, value = checksum_header.strip().partition(" ")
    if algorithm not in _ALGORITHMS:
        raise InvalidInput(f"unsupported checksum algorithm {algorithm!r}; use sha256 or crc32c")
    try:
        expected = base64.b64decode(value, validate=True)
    except binascii.Error:
        raise InvalidInput("Upload-Checksum value is not base64") from None
    return offset, (_ALGORITHMS[algorithm], expected)


@router.delete(
    "/{upload_id}",
    status_code=204,
    **_operation(
        "Abandon an upload (tus termination)",
        _answers(204, "the upload and its bytes are gone"),
        fails(ErrorCode.NOT_FOUND, ErrorCode.CONFLICT, ErrorCode.PRECONDITION_FAILED),
    ),
)
def terminate(upload_id: str, request: Request, ctx: ContextDep, actor: ContentSender) -> Response:
    _require_tus(request)
    uploads.terminate(ctx, actor, upload_id)
    return _response(204)
