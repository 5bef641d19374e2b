"""Delivery assurance: access grants, the alert outbox, webhooks, incidents, retention.

Why grants are a table of their own: a ``KeyWrap`` row *is* the capability (its
bytes open the item key), so revoking, expiry and shredding delete it outright.
The ``AccessGrant`` with the same id keeps the record a report needs — who was
granted access, by whom, when, until when, and who ended it and why — with no
key material in it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from custody.store.db import Base, new_id

ID = String(36)


class AccessGrant(Base):
    """One reader's access to one item, kept after its wrap is destroyed."""

    __tablename__ = "access_grants"

    id: Mapped[str] = mapped_column(ID, primary_key=True)  # the KeyWrap's id
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id"), index=True)
    reader_user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), index=True)
    reader_org_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"))
    recipient: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))  # transfer | share | recovery
    granted_at: Mapped[datetime]
    granted_by: Mapped[str] = mapped_column(String(36))
    expires_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    ended_by: Mapped[str | None] = mapped_column(String(36))
    end_kind: Mapped[str | None] = mapped_column(String(20))  # revoked|expired|incident|shredded
    end_reason: Mapped[str | None] = mapped_column(String(300))


class Alert(Base):
    """An alert in the outbox: raised once (the unique key), delivered until it succeeds.

    ``recipient`` is ``email:<address>``, ``webhook:<org id>`` or ``notice:<user id>``; or
    ``nobody`` (channel ``nobody``) for an alert raised with nobody to tell, kept as raised.
    """

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("subject_id", "kind", "recipient"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    subject_id: Mapped[str] = mapped_column(String(36), index=True)  # a transfer or incident
    kind: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(300))
    channel: Mapped[str] = mapped_column(String(10))
    payload: Mapped[str] = mapped_column(Text)
    ledger_index: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(300))


class OrgWebhook(Base):
    """Where an organisation's alerts are POSTed, and the HMAC secret that signs them.

    HMAC needs the secret itself, so it is kept sealed (ChaCha20-Poly1305) under a
    key derived from the server secret and bound to the organisation's id: a copy
    of the database alone does not let anyone sign webhooks.
    """

    __tablename__ = "org_webhooks"

    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    secret_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


class Incident(Base):
    __tablename__ = "incidents"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    transfer_id: Mapped[str] = mapped_column(ForeignKey("transfers.id"), index=True)
    scope_item_id: Mapped[str | None] = mapped_column(ForeignKey("items.id"))
    reason: Mapped[str] = mapped_column(String(500))
    opened_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[datetime]
    regulator_deadline: Mapped[datetime]
    reported_at: Mapped[datetime | None]
    reported_by: Mapped[str | None] = mapped_column(String(36))
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(36))


class ItemSubject(Base):
    """A pseudonymous data-subject reference a sender attached to an item (never a name)."""

    __tablename__ = "item_subjects"

    item_id: Mapped[str] = mapped_column(ForeignKey("items.id"), primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), primary_key=True)


class Retention(Base):
    """When an item's material is to be crypto-shredded, and when and why it was."""

    __tablename__ = "retention"

    item_id: Mapped[str] = mapped_column(ForeignKey("items.id"), primary_key=True)
    retain_until: Mapped[datetime | None] = mapped_column(index=True)
    set_by: Mapped[str | None] = mapped_column(String(36))  # 0004
    shredded_at: Mapped[datetime | None]
    shredded_by: Mapped[str | None] = mapped_column(String(36))
    shred_reason: Mapped[str | None] = mapped_column(String(300))


class CaseRetention(Base):
    """A case's retention date: it applies to every item of the case (its organisation's own
    material). An item's own ``Retention`` row, if it names a date, overrides it."""

    __tablename__ = "case_retention"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    retain_until: Mapped[datetime | None] = mapped_column(index=True)
    set_by: Mapped[str | None] = mapped_column(String(36))


class LegalHold(Base):
    """A legal hold one organisation put on material it holds: nothing covered is shredded.

    It covers one item, or (``urn``) everything the organisation holds for that case: its
    own items and those it received or was shared. Holds belong to the organisation that
    set them: several may stand on one item, and only their own organisation releases them.
    """

    __tablename__ = "legal_holds"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    item_id: Mapped[str | None] = mapped_column(ForeignKey("items.id"), index=True)
    urn: Mapped[str | None] = mapped_column(String(20), index=True)
    reason: Mapped[str] = mapped_column(String(300))
    set_by: Mapped[str] = mapped_column(String(36))
    set_at: Mapped[datetime]
    released_at: Mapped[datetime | None]
    released_by: Mapped[str | None] = mapped_column(String(36))


class Note(Base):
    """Free text a ledger entry refers to (a reason), kept beside the public log.

    The log is public and cannot forget, so an entry carries only a salted commitment,
    SHA-256("custody-note/v1\n" || salt || text); the text lives here, shown to those
    who may read the trail, and can be erased (text and salt deleted) while the entry stays.
    """

    __tablename__ = "notes"

    commitment: Mapped[str] = mapped_column(String(64), primary_key=True)
    salt: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    erased_at: Mapped[datetime | None]
    erased_by: Mapped[str | None] = mapped_column(String(36))


class ItemView(Base):
    """A viewing of an item in the browser's player: one ``item:viewed`` entry, then the
    player's many range requests for as long as the viewing lasts (each still checked)."""

    __tablename__ = "item_views"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    ledger_index: Mapped[int] = mapped_column(BigInteger)
    started_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class NotificationPreference(Base):
    """Which e-mails about transfers one person wants (``custody.services.notifications``).

    No row: every e-mail, the default. In-app notices are always kept; only e-mail is chosen.
    """

    __tablename__ = "notification_preferences"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    new_transfer: Mapped[bool] = mapped_column(default=True)  # a transfer arrived for me
    received: Mapped[bool] = mapped_column(default=True)  # my transfer was received
    acknowledged: Mapped[bool] = mapped_column(default=True)  # my transfer was acknowledged
    updated_at: Mapped[datetime]


class ScheduledRun(Base):
    """When a scheduled background job (the scrub) is next due, and which node holds it now.

    Every node checks; the one whose conditional update takes the lease runs the job and
    renews the lease while it works. A node that dies holding it lets the lease run out, and
    another node runs the job on its next check (``custody.services.schedule``).
    """

    __tablename__ = "scheduled_runs"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    due_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
