"""The custody ledger as the API serves it: proven entries, consistency, trails, bundles."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from custody.protocol.types import Blob, View


class ProvenEntryOut(View):
    index: int
    entry: Blob = Field(description="the entry's exact bytes")
    proof: list[Blob] = Field(description="RFC 9162 inclusion proof")
    checkpoint: str | None = Field(default=None, description="the signed note it proves against")


class ConsistencyOut(View):
    """RFC 9162 consistency proof from the tree of ``old`` entries to that of ``new``."""

    old: int
    new: int
    proof: list[Blob]


class TrailEntryOut(View):
    index: int
    type: str
    time: datetime
    actor: str
    actor_email: str | None
    item: str | None
    transfer: str | None
    data: dict[str, Any] = Field(description="the entry's data, with any reason's text")


class BundleOut(View):
    origin: str
    checkpoint: str
    entries: list[ProvenEntryOut]
    sealed_manifests: dict[str, Blob]
    wraps: dict[str, Blob] = Field(description="the caller's own wraps, to open the manifests")
    # Per item: the siblings proving its head in the map the checkpoint's last entry commits to.
    head_proofs: dict[str, list[Blob]]


class NamesOut(View):
    """Who a trail's actors are, as the operator attests: an evidence bundle's names.json."""

    names: str = Field(
        description="names.json verbatim: custody-names/v1, signed by the log's key in its own "
        "context (docs/formats.md)"
    )


class CodeReleaseOut(View):
    """The browser code this server serves, and the ledger entry that records it."""

    version: str
    digest: str = Field(description="SHA-256 of the canonical JSON of `assets`")
    ledger_index: int = Field(description="its code:release entry in the log")
    assets: dict[str, str] = Field(description="each asset's path and SHA-256 (hex)")


class WitnessStatusOut(View):
    """One of the log's witnesses, as the newest checkpoint shows it."""

    name: str
    url: str
    cosigned: bool = Field(description="whether the newest checkpoint carries its cosignature")
    cosigned_at: datetime | None = Field(description="the time its cosignature states")


class LedgerStatusOut(View):
    """The log's size, how old its newest checkpoint is, and who cosigned it."""

    origin: str
    size: int
    checkpoint_at: datetime
    checkpoint_age_seconds: float
    witnesses: list[WitnessStatusOut]
