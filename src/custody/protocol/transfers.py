"""Cases, transfers, their items, uploads' sealing, receipts and acknowledgements."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from custody.protocol.types import Blob, Sha256, Strict, View


class CaseIn(Strict):
    urn: str = Field(max_length=40)


class CaseOut(View):
    id: str
    urn: str


class CaseSummaryOut(View):
    """A case the caller sent material for, received material of, or opened: its transfers
    that the caller sent or received, counted."""

    id: str
    urn: str
    org: str = Field(description="the organisation whose case it is")
    opened_at: datetime
    transfers: list[str] = Field(description="ids of the transfers you sent or received")
    sent: int
    received: int
    items: int = Field(description="items of those transfers")
    latest_at: datetime = Field(description="the latest of them, else when the case was opened")


class CasePage(View):
    """One page of the caller's cases, newest opened first."""

    cases: list[CaseSummaryOut]
    next: str | None = Field(description="pass as ?after= for the next page; null at the end")


class TransferIn(Strict):
    case: str = Field(max_length=40)
    to: list[str] = Field(min_length=1, max_length=50)
    ack_within: str | None = Field(default=None, max_length=20)


class ReaderOut(View):
    """Someone the sender's client must wrap each item key for."""

    recipient: str = Field(description="their age public key (age1...)")
    user_id: str | None = Field(description="a person...")
    org_id: str | None = Field(description="...or an organisation's offline recovery key")
    label: str
    key_index: int | None = Field(description="the ledger entry that registered the key")


class PartyOut(View):
    user_id: str
    email: str


class ItemOut(View):
    id: str
    position: int
    state: str
    ciphertext_size: int
    ciphertext_sha256: Sha256 | None
    manifest_sha256: Sha256 | None
    sealed_manifest: Blob | None = Field(description="the signed manifest, age-encrypted")
    wrap: Blob | None = Field(description="the item key, wrapped for the caller (if a reader)")


class TransferOut(View):
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
    # Only in the answer to the draft's creation: whom to wrap for.
    readers: list[ReaderOut] = Field(default_factory=list)


class TransferPage(View):
    """One page of a list of transfers, newest first; ``next`` asks for the following one."""

    transfers: list[TransferOut]
    next: str | None = Field(description="pass as ?after= for the next page; null at the end")


class ItemIn(Strict):
    ciphertext_size: int = Field(gt=0)


class ItemCreatedOut(View):
    id: str
    position: int


# The most people one transfer reaches (a unit of that many counts them all), and so the most
# key wraps an item's seal carries: theirs, the sender's and two organisations' recovery keys.
# One wrap is about 380 bytes of JSON: a full seal is about 1.2 MB (CUSTODY_MAX_JSON_BYTES).
MAX_RECIPIENTS = 3000
MAX_READERS = MAX_RECIPIENTS + 3


class SealIn(Strict):
    sealed_manifest: str = Field(max_length=100_000, description="base64 of the sealed manifest")
    manifest_sha256: Sha256
    wraps: dict[str, str] = Field(
        max_length=MAX_READERS, description="age recipient -> base64 wrap"
    )


class ReceiptIn(Strict):
    manifest_sha256: Sha256
    verified: bool
    reason: str | None = Field(default=None, max_length=500)


class AckIn(Strict):
    without_receipt: bool = Field(
        default=False, description="acknowledge without your own verified receipt (recorded)"
    )


class SubjectsIn(Strict):
    subjects: list[str] = Field(max_length=100)


class ViewOut(View):
    """A viewing in the browser's player: fetch its ranges at /api/v1/views/{view}/content."""

    view: str
    item: str
    ciphertext_size: int
    expires_at: datetime
    ledger_index: int = Field(description="its item:viewed entry")
