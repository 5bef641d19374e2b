"""Ciphertext out, whole or one byte range (RFC 9110 §14): what a download and a player get."""

from __future__ import annotations

import re

from fastapi.responses import StreamingResponse

from custody.errors import InvalidInput
from custody.services.context import ServiceContext
from custody.services.reading import Download

_RANGE = re.compile(r"^bytes=([0-9]{1,18})-([0-9]{0,18})$")


def requested(header: str | None) -> tuple[int, int | None]:
    """The one ``bytes=START-[END]`` range asked for, as start and exclusive end."""
    if not header:
        return 0, None
    match = _RANGE.fullmatch(header.strip())
    if not match:
        raise InvalidInput("only a single 'bytes=START-[END]' range is supported")
    return int(match[1]), int(match[2]) + 1 if match[2] else None


def ciphertext(ctx: ServiceContext, grant: Download, *, ranged: bool) -> StreamingResponse:
    """The granted bytes, streamed from the blob store (never whole in memory)."""
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Length": str(grant.stop - grant.start),
        "Cache-Control": "no-store",
    }
    if ranged:
        headers["Content-Range"] = f"bytes {grant.start}-{grant.stop - 1}/{grant.size}"
    return StreamingResponse(
        ctx.blobs.read(grant.blob_key, grant.start, grant.stop),
        status_code=206 if ranged else 200,
        media_type="application/octet-stream",
        headers=headers,
    )
