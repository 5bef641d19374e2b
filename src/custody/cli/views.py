"""What ``--json`` prints for the commands whose answer is this machine's, not the server's.

Everything the server answers is printed as its wire model (``custody.protocol``); these
few are what the client itself found: files it received and verified, a bundle it checked
offline, and what the operator's commands made on the server's machine. Same conventions:
ids always present, times in RFC 3339, sizes in bytes.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from custody.bundle.names import AttestedNames
from custody.bundle.trail import BundleReport
from custody.client.receiving import Received
from custody.protocol.transfers import TransferOut


class _Local(BaseModel):
    model_config = ConfigDict(frozen=True)


class InitialisedOut(_Local):
    """What ``custody admin init`` made or found: the data directory and the log's key."""

    data_dir: str
    log_key: str = Field(description="the log's verifier key, for everyone's first login")
    made_log_key: bool


class InvitedOut(_Local):
    """A person ``custody admin user create`` made, and the code to hand them if not mailed."""

    id: str
    email: str
    role: str
    org: str
    unit: str | None
    activation_code: str | None = Field(description="null when it was e-mailed to them")


class ReceivedOut(_Local):
    """One item ``custody receive`` verified and wrote: where, and what its sender signed."""

    item: str
    transfer: str
    case: str
    path: str
    file_name: str
    size: int
    sha256: str

    @classmethod
    def of_received(cls, received: Received) -> ReceivedOut:
        m = received.manifest
        return cls(
            item=received.item,
            transfer=m.transfer,
            case=m.case,
            path=str(received.path),
            file_name=m.file_name,
            size=m.size,
            sha256=m.sha256,
        )


class TrailLineOut(_Local):
    index: int
    time: datetime
    type: str
    actor: str
    item: str | None


class NamedActorOut(_Local):
    """One actor of the trail as the operator names them."""

    email: str
    role: str
    org: str


class NamesOut(_Local):
    """A bundle's names.json once its signature verified: the operator's attestation."""

    attested_by: str = Field(description="the verifier key that signed it: the log's")
    issued_at: str
    proven_by_log: bool = Field(description="always false: the operator's word")
    actors: dict[str, NamedActorOut]

    @classmethod
    def of(cls, names: AttestedNames) -> NamesOut:
        return cls(
            attested_by=names.signed_by,
            issued_at=names.issued_at,
            proven_by_log=False,
            actors={
                actor: NamedActorOut(email=n.email, role=n.role, org=n.org)
                for actor, n in names.actors.items()
            },
        )


class VerifiedOut(_Local):
    """An evidence bundle ``custody verify`` checked offline: every check it passed, what it
    does not prove, and the custody trail it proves (pseudonymous actor ids; who they are in
    ``names``, when the bundle carries the operator's signed names)."""

    bundle: str
    verified: bool
    origin: str
    size: int
    root_hash: str
    content_item: str | None
    checks: list[str]
    caveats: list[str]
    trail: list[TrailLineOut]
    names: NamesOut | None = Field(
        description="names.json, when the bundle has one and its signature verified"
    )

    @classmethod
    def of_report(cls, bundle: str, report: BundleReport) -> VerifiedOut:
        return cls(
            bundle=bundle,
            verified=True,  # a bundle that fails is an error (exit 8), never printed as JSON
            origin=report.origin,
            size=report.size,
            root_hash=report.root_hash.hex(),
            content_item=report.content_item,
            checks=list(report.checks),
            caveats=list(report.caveats),
            trail=[
                TrailLineOut(index=t.index, time=t.time, type=t.type, actor=t.actor, item=t.item)
                for t in report.trail
            ],
            names=None if report.names is None else NamesOut.of(report.names),
        )


class CaseTransfersOut(_Local):
    """One case and its transfers that you can see, each as the server answers it."""

    urn: str
    transfers: list[TransferOut]
