"""Request and response bodies of the JSON API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(Strict):
    email: str = Field(max_length=254)
    password: str = Field(max_length=1024)
    code: str | None = Field(default=None, max_length=10, description="TOTP code")
    recovery_code: str | None = Field(default=None, max_length=40)
    enrolment_code: str | None = Field(
        default=None, max_length=60, description="after a reset: the one-time code e-mailed"
    )
    scopes: list[str] | None = Field(default=None, max_length=3, description="read, send, admin")


class LoginOut(BaseModel):
    token: str
    token_id: str
    expires_at: datetime
    scopes: str
    # True: ``token`` is good only for enrolling a second factor (/api/v1/second-factor/...).
    enrolment_required: bool
    user_id: str
    email: str
    org: str
    role: str
    log_origin: str
    log_key: str | None


class MeOut(BaseModel):
    user_id: str
    email: str
    org_id: str
    role: str


class KeysIn(Strict):
    age_recipient: str = Field(max_length=100)
    signing_key: str = Field(max_length=60)


class KeysOut(BaseModel):
    user_id: str
    email: str
    age_recipient: str
    signing_key: str
    ledger_index: int


class CaseIn(Strict):
    urn: str = Field(max_length=40)


class CaseOut(BaseModel):
    id: str
    urn: str


class TransferIn(Strict):
    case: str = Field(max_length=40)
    to: list[str] = Field(min_length=1, max_length=50)
    ack_within: str | None = Field(default=None, max_length=20)


class ReaderOut(BaseModel):
    recipient: str
    user_id: str | None
    org_id: str | None
    label: str
    key_index: int | None


class ItemIn(Strict):
    ciphertext_size: int = Field(gt=0)


class ItemCreated(BaseModel):
    id: str
    position: int


class SealIn(Strict):
    sealed_manifest: str = Field(max_length=100_000)
    manifest_sha256: str = Field(min_length=64, max_length=64)
    wraps: dict[str, str] = Field(max_length=100)


class ReceiptIn(Strict):
    manifest_sha256: str = Field(min_length=64, max_length=64)
    verified: bool
    reason: str | None = Field(default=None, max_length=500)


class ItemOut(BaseModel):
    id: str
    position: int
    state: str
    ciphertext_size: int
    ciphertext_sha256: str | None
    manifest_sha256: str | None
    sealed_manifest: str | None
    wrap: str | None


class PartyOut(BaseModel):
    user_id: str
    email: str


class TransferOut(BaseModel):
    id: str
    case: str
    state: str
    sender: PartyOut
    sender_signing_key: str | None
    sender_key_index: int | None
    recipient_org: str
    # The unit a transfer was addressed to ("ORG/UNIT"), if it was.
    recipient_unit: str | None = None
    recipients: list[PartyOut]
    created_at: datetime
    sent_at: datetime | None
    ack_deadline: datetime | None
    delivered_at: datetime | None
    acknowledged_at: datetime | None
    items: list[ItemOut]
    readers: list[ReaderOut] = []


class TrailOut(BaseModel):
    index: int
    type: str
    time: datetime
    actor: str
    actor_email: str | None
    item: str | None
    transfer: str | None
    data: dict[str, object]


class ProvenEntryOut(BaseModel):
    index: int
    entry: str
    proof: list[str]
    checkpoint: str | None = None


class ConsistencyOut(BaseModel):
    """RFC 9162 consistency proof from the tree of ``old`` entries to that of ``new``."""

    old: int
    new: int
    proof: list[str]


class BundleOut(BaseModel):
    origin: str
    checkpoint: str
    entries: list[ProvenEntryOut]
    sealed_manifests: dict[str, str]
    wraps: dict[str, str]
    # Per item: the siblings proving its head in the map the checkpoint's last entry commits to.
    head_proofs: dict[str, list[str]]


class UnitIn(Strict):
    name: str = Field(max_length=80)


class UnitOut(BaseModel):
    id: str
    name: str
    org: str
    members: int
    created_at: datetime


class PersonIn(Strict):
    email: str = Field(max_length=254)
    role: str = Field(max_length=20, description="officer, prosecutor, paralegal, ...")
    unit: str | None = Field(default=None, max_length=80, description="a unit's name or id")


class PersonOut(BaseModel):
    id: str
    email: str
    role: str
    unit: str | None
    unit_id: str | None
    disabled: bool
    enrolled: bool
    keys: bool
    created_at: datetime


class PersonAddedOut(BaseModel):
    person: PersonOut
    # The one-time activation code went to this address only; the admin never sees it.
    activation_sent_to: str


class ReasonIn(Strict):
    reason: str = Field(max_length=300)


class MoveIn(Strict):
    unit: str | None = Field(max_length=80, description="a unit's name or id; null: no unit")


class ResetOut(BaseModel):
    ledger_index: int
    # The one-time re-enrolment code went to this address only; the admin never sees it.
    enrolment_code_sent_to: str


class AckIn(Strict):
    without_receipt: bool = Field(
        default=False, description="acknowledge without your own verified receipt (recorded)"
    )


class ActivateIn(Strict):
    email: str = Field(max_length=254)
    code: str = Field(max_length=60, description="the one-time activation code e-mailed")
    password: str = Field(max_length=1024, description="the password the person chooses")
