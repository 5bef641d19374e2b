"""Delivery assurance: revocation, notices, access reports, sharing, incidents, retention."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from custody.protocol.types import Email, Strict, View


class RevokeIn(Strict):
    reason: str = Field(max_length=300)


class TransferStateOut(View):
    id: str
    state: str
    case: str


class AlertNoticeOut(View):
    """An in-app notice: an alert to this person (overdue, revoked, incident, ...)."""

    id: str
    kind: str
    subject_id: str
    at: datetime
    subject: str
    text: str


class NoticePage(View):
    """One page of the caller's notices, newest first."""

    notices: list[AlertNoticeOut]
    next: str | None = Field(description="pass as ?after= for the next page; null at the end")


class GrantOut(View):
    """Someone who could read the item: from when, granted by whom, until when, ended how."""

    reader: str
    kind: str = Field(description="transfer, share or recovery")
    granted_at: datetime
    granted_by: str
    grant_index: int | None
    expires_at: datetime | None
    ended_at: datetime | None
    ended_by: str | None
    end: str | None = Field(description="revoked, expired, incident or shredded")
    end_reason: str | None
    end_index: int | None


class AccessLineOut(View):
    """One access, or one refused attempt, with the ledger entry that proves it."""

    index: int
    type: str
    time: datetime
    user: str
    address: str | None
    user_agent: str | None
    detail: dict[str, Any]


class ReportOut(View):
    item: str
    transfer: str
    case: str
    state: str
    transfer_state: str
    could_access: list[GrantOut]
    accessed: list[AccessLineOut]
    refused: list[AccessLineOut]


class ShareTargetOut(View):
    """Whom the holder's client wraps for: the reader's key and the entry registering it."""

    user_id: str
    email: str
    recipient: str
    key_index: int


class ShareIn(Strict):
    email: Email
    wrap: str = Field(max_length=8192, description="base64 of the item key wrapped for the reader")
    key_index: int
    expires: str | None = Field(default=None, max_length=40)


class ShareOut(View):
    item: str
    reader: str
    expires_at: datetime | None


class SharedOut(View):
    """An item shared with the caller that they can still read."""

    item: str
    case: str
    shared_by: str
    shared_by_org: str
    shared_at: datetime
    expires_at: datetime | None
    ciphertext_size: int


class SharedPage(View):
    """One page of the items shared with the caller, newest first."""

    shared: list[SharedOut]
    next: str | None = Field(description="pass as ?after= for the next page; null at the end")


class IncidentIn(Strict):
    ref: str = Field(max_length=40, description="a transfer or item id")
    reason: str = Field(max_length=300)


class ImpactItemOut(View):
    item: str
    state: str
    could_access: list[GrantOut]
    accessed: list[AccessLineOut]
    refused: list[AccessLineOut]


class ImpactOut(View):
    """An incident's impact report: what, whose, who could and who did access, the clock."""

    id: str
    transfer: str
    case: str
    scope: str = Field(description="transfer or item")
    reason: str
    opened_at: datetime
    opened_by: str
    regulator_deadline: datetime
    reported_at: datetime | None
    reported_by: str | None
    closed_at: datetime | None
    closed_by: str | None
    data_subjects: list[str]
    items: list[ImpactItemOut]


class IncidentPage(View):
    """One page of the incidents the caller may read, newest opened first, each its impact
    report."""

    incidents: list[ImpactOut]
    next: str | None = Field(description="pass as ?after= for the next page; null at the end")


class RetentionIn(Strict):
    ref: str = Field(max_length=40, description="an item id or a case URN")
    until: str | None = Field(default=None, max_length=40)
    for_: str | None = Field(default=None, max_length=20)


class RetentionOut(View):
    target: str  # "item ID" or "case URN"
    retain_until: datetime


class HoldIn(Strict):
    ref: str = Field(max_length=40, description="an item id or a case URN")
    reason: str = Field(max_length=300)
    release: bool = False


class HoldOut(View):
    target: str
    legal_hold: bool  # False: released
