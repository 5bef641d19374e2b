"""Custody trails for those who may read them: an item's or a transfer's history, and the
material of an evidence bundle (entries, proofs, one checkpoint, the item-heads proofs)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from custody.http.deps import ContextDep
from custody.http.openapi import fails
from custody.http.policy import TrailReader
from custody.protocol.codes import ErrorCode
from custody.protocol.ledger import BundleOut, NamesOut, TrailEntryOut
from custody.services import trails
from custody.services.ledger import TrailEntry

router = APIRouter(prefix="/api/v1", tags=["ledger"])
Ref = Annotated[str, Path(max_length=40, description="an item or transfer id")]
# Both are signed with the log's key: a server that has none answers 409.
_SIGNED = fails(ErrorCode.NOT_FOUND, ErrorCode.CONFLICT)


@router.get(
    "/history/{ref}", response_model=list[TrailEntryOut], responses=fails(ErrorCode.NOT_FOUND)
)
def history(ref: Ref, ctx: ContextDep, actor: TrailReader) -> list[TrailEntry]:
    """Every ledger entry of an item, or of all a transfer's items, in log order."""
    return trails.history(ctx, actor, ref)


@router.get("/bundle/{ref}", response_model=BundleOut, responses=_SIGNED)
def bundle(ref: Ref, ctx: ContextDep, actor: TrailReader) -> BundleOut:
    """What an offline evidence bundle is built from (``custody bundle``): the trail's
    entries, their inclusion proofs, one checkpoint and the item-heads proofs."""
    return trails.bundle_material(ctx, actor, ref)


@router.get("/bundle/{ref}/names", response_model=NamesOut, responses=_SIGNED)
def names(ref: Ref, ctx: ContextDep, actor: TrailReader) -> NamesOut:
    """Who the trail's actors are, signed by the server as the operator's attestation (not
    proven by the log): a bundle's ``names.json`` (``custody bundle --names``)."""
    return trails.names_of(ctx, actor, ref)
