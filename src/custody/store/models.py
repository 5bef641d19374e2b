"""The relational model: people, keys, cases, transfers, items and their key wraps.

Nothing here holds plaintext: file names, sizes and hashes of plaintext travel
only inside the sender-signed manifest, which is stored age-encrypted to the
item key (``Item.sealed_manifest``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from custody.store.db import Base, new_id

ID = String(36)


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    # Public half of the organisation's offline recovery key (age1...), and the ledger entry
    # (``org:recovery_key``) that logs it: clients wrap only for a recovery key the log shows.
    recovery_recipient: Mapped[str] = mapped_column(String(100))
    recovery_key_index: Mapped[int | None] = mapped_column(BigInteger)  # a ledger index
    default_ack_hours: Mapped[int] = mapped_column(default=72)
    created_at: Mapped[datetime]


class Unit(Base):
    """A team inside an organisation (a CID unit, a RASSO unit): people belong to at most one."""

    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime]


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    unit_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]

    org: Mapped[Organisation] = relationship(lazy="joined")


class OneTimeCode(Base):
    """A one-time code e-mailed to a person: to activate their account, or to enrol a second
    factor again after a reset (``custody.services.activation``). Only its keyed hash is kept;
    the admin who caused it never sees it."""

    __tablename__ = "one_time_codes"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(20), primary_key=True)  # activate | re-enrol
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    issued_by: Mapped[str] = mapped_column(String(36))


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Space-separated scopes (custody.domain.policy.Scope); "enrol" alone marks a
    # short-lived token that may only enrol a second factor.
    scopes: Mapped[str] = mapped_column(String(60), default="read send")
    # "api": a bearer token (CLI, integrations); "session": a browser session cookie.
    kind: Mapped[str] = mapped_column(String(10), default="api", server_default="api")
    label: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class UserKey(Base):
    """A user's public keys: age X25519 recipient and Ed25519 signing key."""

    __tablename__ = "user_keys"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    age_recipient: Mapped[str] = mapped_column(String(100))
    signing_key: Mapped[str] = mapped_column(String(60))
    ledger_index: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    retired_at: Mapped[datetime | None]


class Case(Base):
    """A case as one organisation knows it: two organisations may both hold URN 47XX1234567,
    each its own case with its own material, retention and holds."""

    __tablename__ = "cases"
    __table_args__ = (UniqueConstraint("owner_org_id", "urn"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    urn: Mapped[str] = mapped_column(String(20), index=True)
    owner_org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]


class Transfer(Base):
    __tablename__ = "transfers"
    # Lists walk these newest first and stop after a page (services.paging): an inbox
    # probes its recipients along the first, an outbox reads its sender's along the second.
    __table_args__ = (
        Index("ix_transfers_created_at_id", "created_at", "id"),
        Index("ix_transfers_sender_created_at_id", "sender_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    sender_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    sender_org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    recipient_org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    # Set when the transfer was addressed to a unit ("ORG/UNIT"): its members are the recipients.
    recipient_unit_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"))
    state: Mapped[str] = mapped_column(String(20))
    # The ledger index of the sender's key registration: the key that signs the manifests.
    sender_key_index: Mapped[int] = mapped_column(BigInteger)  # a ledger index
    ack_within_seconds: Mapped[int]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    ack_deadline: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))

    case: Mapped[Case] = relationship(lazy="joined")
    recipients: Mapped[list[TransferRecipient]] = relationship(
        lazy="selectin", cascade="all, delete-orphan"
    )
    items: Mapped[list[Item]] = relationship(
        lazy="selectin", order_by="Item.position", back_populates="transfer"
    )


class TransferRecipient(Base):
    __tablename__ = "transfer_recipients"

    transfer_id: Mapped[str] = mapped_column(ForeignKey("transfers.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)


class Item(Base):
    """One file of case material: an age blob, its sealed manifest and its wraps."""

    __tablename__ = "items"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    transfer_id: Mapped[str] = mapped_column(ForeignKey("transfers.id"), index=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    position: Mapped[int]
    state: Mapped[str] = mapped_column(String(20))  # custody.domain.items.ItemState
    ciphertext_size: Mapped[int] = mapped_column(BigInteger)  # 60 GB items: past 2^31
    ciphertext_sha256: Mapped[str | None] = mapped_column(String(64))
    blob_key: Mapped[str | None] = mapped_column(String(200))
    upload_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    sealed_manifest: Mapped[bytes | None] = mapped_column(LargeBinary)
    manifest_sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    sealed_at: Mapped[datetime | None]

    transfer: Mapped[Transfer] = relationship(back_populates="items")


class KeyWrap(Base):
    """The item key, age-encrypted to one reader: a person or an organisation's recovery key."""

    __tablename__ = "key_wraps"
    __table_args__ = (UniqueConstraint("item_id", "recipient"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id"), index=True)
    reader_user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), index=True)
    reader_org_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"))
    recipient: Mapped[str] = mapped_column(String(100))
    wrap: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


class Upload(Base):
    """A tus upload in progress; the bytes live in the blob store's staging area."""

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id"), unique=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    length: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class AccessRecord(Base):
    """Where an access came from: kept beside the ledger, never in it (personal data)."""

    __tablename__ = "access_records"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    ledger_index: Mapped[int] = mapped_column(BigInteger, index=True)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    item_id: Mapped[str | None] = mapped_column(String(36), index=True)
    address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime]
