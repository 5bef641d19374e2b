"""Database tables of the custody ledger: head, entries, tree nodes, checkpoints."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from custody.store.db import Base

# A rowid alias on SQLite (fast appends), a 64-bit integer on PostgreSQL.
_Index = BigInteger().with_variant(Integer(), "sqlite")


class LedgerHead(Base):
    """The one row holding the tree size; the sequencer locks it to append.

    ``heads_size``: how many entries the item-heads map (``ledger_map_nodes``) has folded in.
    """

    __tablename__ = "ledger_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    heads_size: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")


class LedgerEntryRow(Base):
    """One log entry: its exact bytes and RFC 9162 leaf hash."""

    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_entries_item_id_index", "item_id", "index"),)

    index: Mapped[int] = mapped_column("index", _Index, primary_key=True, autoincrement=False)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    body: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    item_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    type: Mapped[str] = mapped_column(String(64), nullable=False)


class LedgerNode(Base):
    """The hash of the complete subtree (level, index); level 0 holds leaf hashes."""

    __tablename__ = "ledger_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column("index", BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)


class LedgerMapNode(Base):
    """A node of the item-heads map (custody.ledger.heads): its path, hash, and for a subtree
    of one item, that item's key."""

    __tablename__ = "ledger_map_nodes"

    path: Mapped[bytes] = mapped_column(LargeBinary(34), primary_key=True)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    leaf_key: Mapped[bytes | None] = mapped_column(LargeBinary(32), nullable=True)


class LedgerCheckpointRow(Base):
    """A signed checkpoint (C2SP signed note, verbatim); all of them are kept."""

    __tablename__ = "ledger_checkpoints"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    note: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)


class CodeRelease(Base):
    """A set of static assets (the browser's code) this log recorded as a ``code:release``
    entry: keyed by the digest of the asset list, so each release is logged once."""

    __tablename__ = "code_releases"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[str] = mapped_column(String(40), nullable=False)
    ledger_index: Mapped[int] = mapped_column(BigInteger, nullable=False)
    published_at: Mapped[datetime]
