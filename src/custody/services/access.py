"""Who may read an item right now, and the records that say who could, from when until when.

A live ``KeyWrap`` is the capability; its ``AccessGrant`` (same id) is the record
that outlives it. Ending access — revocation, expiry, an incident, shredding —
deletes the wrap and stamps the grant, in the caller's transaction.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from custody.errors import InvalidInput
from custody.protocol.transfers import ReaderOut
from custody.store.db import new_id
from custody.store.models import Item, KeyWrap
from custody.store.models_delivery import AccessGrant, Incident

ENDINGS = {
    "revoked": "was revoked",
    "expired": "expired",
    "incident": "was withdrawn by an incident",
    "shredded": "ended: the item was crypto-shredded",
}

MAX_WRAP = 4096  # bytes of one key wrap (an age header for one recipient is about 200)


def unbase64(text: str, what: str, limit: int = MAX_WRAP) -> bytes:
    """The bytes a client sent as base64 (``what``, 1 to ``limit`` of them), or refused."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(f"{what} is not base64") from None
    if not raw or len(raw) > limit:
        raise InvalidInput(f"{what} must be 1 to {limit} bytes")
    return raw


def add_wrap(
    session: Session,
    item: Item,
    reader: ReaderOut,
    wrap: bytes,
    *,
    kind: str,
    by: str,
    at: datetime,
    expires_at: datetime | None = None,
) -> AccessGrant:
    """Give ``reader`` the item key (``wrap``, made by a client, never by the server) and
    record the grant behind it (``kind``: transfer, recovery or share)."""
    reader_of = {
        "item_id": item.id,
        "reader_user_id": reader.user_id,
        "reader_org_id": reader.org_id,
        "recipient": reader.recipient,
    }
    key_wrap = KeyWrap(id=new_id(), wrap=wrap, created_at=at, **reader_of)
    record = AccessGrant(
        id=key_wrap.id, kind=kind, granted_at=at, granted_by=by, expires_at=expires_at, **reader_of
    )
    session.add_all([key_wrap, record])
    return record


def end_access(
    session: Session, wraps: list[KeyWrap], *, kind: str, by: str, reason: str, at: datetime
) -> list[AccessGrant]:
    """Destroy these wraps and stamp their grants as ended (``kind`` is a key of ENDINGS)."""
    ended = []
    for wrap in wraps:
        record = session.get(AccessGrant, wrap.id)
        if record is not None and record.ended_at is None:
            record.ended_at, record.ended_by = at, by
            record.end_kind, record.end_reason = kind, reason[:300]
            ended.append(record)
        session.delete(wrap)
    session.flush()
    return ended


def live_wrap(session: Session, item_id: str, user_id: str) -> KeyWrap | None:
    return session.scalar(
        select(KeyWrap).where(KeyWrap.item_id == item_id, KeyWrap.reader_user_id == user_id)
    )


def ended_grant(session: Session, item_id: str, user_id: str) -> AccessGrant | None:
    """The reader's most recently ended grant on this item, if any."""
    return session.scalar(
        select(AccessGrant)
        .where(
            AccessGrant.item_id == item_id,
            AccessGrant.reader_user_id == user_id,
            AccessGrant.ended_at.is_not(None),
        )
        .order_by(AccessGrant.ended_at.desc())
        .limit(1)
    )


def open_incident(session: Session, item: Item) -> Incident | None:
    """The open incident whose scope covers ``item`` (its transfer, or the item itself)."""
    return session.scalar(
        select(Incident)
        .where(
            Incident.transfer_id == item.transfer_id,
            Incident.closed_at.is_(None),
            (Incident.scope_item_id.is_(None)) | (Incident.scope_item_id == item.id),
        )
        .limit(1)
    )


def is_expired(session: Session, wrap: KeyWrap, now: datetime) -> bool:
    record = session.get(AccessGrant, wrap.id)
    return bool(record and record.expires_at is not None and record.expires_at <= now)
