"""The log's public read API: C2SP tlog-checkpoint and tlog-tiles, proven entries and
consistency proofs.

No login: checkpoints, hashes and entries carry no names, file names or content, so
monitors and witnesses can follow the log without an account. Full tiles never change and
are cached forever; the checkpoint and partial tiles are fresh for a few seconds.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from custody.errors import NotFound
from custody.http.deps import ContextDep
from custody.http.openapi import fails
from custody.http.policy import PUBLIC
from custody.ledger.tiles import parse_tile_path, tile_width
from custody.protocol.codes import ErrorCode
from custody.protocol.ledger import (
    CodeReleaseOut,
    ConsistencyOut,
    LedgerStatusOut,
    ProvenEntryOut,
)
from custody.services import releases, trails, witnessing
from custody.services.ledger import latest_checkpoint
from custody.store.ledger_store import LedgerStore

router = APIRouter(tags=["log"], dependencies=[PUBLIC])

_IMMUTABLE = "public, max-age=31536000, immutable"
_FRESH = "public, max-age=2"
_NOTE = {"content": {"text/plain; charset=utf-8": {}}, "description": "a C2SP signed note"}
_BYTES = {"content": {"application/octet-stream": {}}, "description": "the tile's bytes"}
Size = Annotated[int, Query(ge=1, le=2**63 - 1, description="a tree size")]


@router.get(
    "/checkpoint",
    response_class=Response,
    responses={200: _NOTE, **fails(ErrorCode.NOT_FOUND)},
)
def checkpoint(ctx: ContextDep) -> Response:
    """The newest signed checkpoint (a C2SP signed note)."""
    cp = latest_checkpoint(ctx)
    return Response(
        cp.note, media_type="text/plain; charset=utf-8", headers={"Cache-Control": _FRESH}
    )


@router.get(
    "/api/v1/ledger/entries/{index}",
    response_model=ProvenEntryOut,
    responses=fails(ErrorCode.NOT_FOUND, ErrorCode.CONFLICT),
)
def proven_entry(
    index: Annotated[int, Path(ge=0, le=2**63 - 1)], ctx: ContextDep
) -> ProvenEntryOut:
    """One entry with its inclusion proof and the checkpoint it proves against."""
    return trails.proven_entry(ctx, index)


@router.get(
    "/api/v1/ledger/status",
    response_model=LedgerStatusOut,
    responses=fails(ErrorCode.NOT_FOUND),
)
def status(ctx: ContextDep) -> LedgerStatusOut:
    """The log's size, its newest checkpoint's age, and which of its witnesses cosigned it:
    what an operator watches (a checkpoint that stops getting younger, a witness that stops
    cosigning)."""
    return witnessing.status(ctx)


@router.get("/api/v1/ledger/consistency", response_model=ConsistencyOut)
def consistency(old: Size, new: Size, ctx: ContextDep) -> ConsistencyOut:
    """A consistency proof between two tree sizes: a client that verified a checkpoint of
    ``old`` entries checks a newer one of ``new`` entries extends it."""
    return trails.consistency(ctx, old, new)


@router.get("/api/v1/code", response_model=CodeReleaseOut)
def code(request: Request, ctx: ContextDep) -> CodeReleaseOut:
    """The browser code this server serves (each static asset's SHA-256) and the
    ``code:release`` ledger entry that records it: check one against the other with
    ``custody code check``."""
    return releases.publish(ctx, request.app.state.release)  # logged at start; once


@router.get(
    "/tile/{path:path}",
    response_class=Response,
    responses={200: _BYTES, **fails(ErrorCode.NOT_FOUND)},
)
def tile(path: str, ctx: ContextDep) -> Response:
    """A Merkle tile or an entry bundle, as C2SP tlog-tiles lays them out."""
    ref = parse_tile_path(f"tile/{path}")
    cp = latest_checkpoint(ctx)
    # A tile of width W exists once the checkpointed tree holds W hashes (or entries) there.
    if tile_width(ref.level or 0, ref.n, cp.size) < ref.width:
        raise NotFound(
            f"no tile {ref.path} in the tree of {cp.size} entries the checkpoint commits to"
        )
    with ctx.unit_of_work() as session:
        store = LedgerStore(session)
        if ref.level is None:
            body = store.entry_bundle(ref.n, ref.width)
        else:
            body = store.tile(ref.level, ref.n, ref.width)
    cache = _FRESH if ref.is_partial else _IMMUTABLE
    return Response(body, media_type="application/octet-stream", headers={"Cache-Control": cache})
