"""security review: logged recovery keys, cases per organisation, holds per organisation,
reasons beside the ledger, one-time account codes

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import custody.store.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recovery_key_index", sa.Integer(), nullable=True))

    # A case belongs to an organisation: two may hold the same URN.
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_constraint("uq_cases_urn", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_cases_owner_org_id"), ["owner_org_id", "urn"]
        )
        batch_op.create_index(batch_op.f("ix_cases_urn"), ["urn"], unique=False)

    op.create_table(
        "legal_holds",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("item_id", sa.String(length=36), nullable=True),
        sa.Column("urn", sa.String(length=20), nullable=True),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("set_by", sa.String(length=36), nullable=False),
        sa.Column("set_at", custody.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("released_at", custody.store.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("released_by", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_legal_holds_item_id_items")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_legal_holds_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_holds")),
    )
    with op.batch_alter_table("legal_holds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_legal_holds_item_id"), ["item_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_legal_holds_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_legal_holds_urn"), ["urn"], unique=False)
    _move_holds()
    with op.batch_alter_table("retention", schema=None) as batch_op:
        batch_op.drop_column("legal_hold")
        batch_op.drop_column("hold_reason")
        batch_op.drop_column("hold_by")
    with op.batch_alter_table("case_retention", schema=None) as batch_op:
        batch_op.drop_column("legal_hold")
        batch_op.drop_column("hold_reason")
        batch_op.drop_column("hold_by")

    op.create_table(
        "notes",
        sa.Column("commitment", sa.String(length=64), nullable=False),
        sa.Column("salt", sa.LargeBinary(length=32), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("created_at", custody.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("erased_at", custody.store.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("erased_by", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("commitment", name=op.f("pk_notes")),
    )
    op.create_table(
        "one_time_codes",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", custody.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", custody.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("issued_by", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_one_time_codes_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", "purpose", name=op.f("pk_one_time_codes")),
    )


def _move_holds() -> None:
    """Standing holds become holds of the organisation that set them (else the owner's)."""
    bind = op.get_bind()
    now = datetime.now(UTC)
    rows = bind.execute(
        sa.text(
            "SELECT r.item_id, r.hold_reason, r.hold_by, u.org_id, t.sender_org_id"
            " FROM retention r JOIN items i ON i.id = r.item_id"
            " JOIN transfers t ON t.id = i.transfer_id"
            " LEFT JOIN users u ON u.id = r.hold_by WHERE r.legal_hold"
        )
    ).all()
    holds = [
        {"item_id": item, "urn": None, "org_id": org or sender, "reason": reason, "by": by}
        for item, reason, by, org, sender in rows
    ]
    rows = bind.execute(
        sa.text(
            "SELECT c.urn, c.owner_org_id, r.hold_reason, r.hold_by FROM case_retention r"
            " JOIN cases c ON c.id = r.case_id WHERE r.legal_hold"
        )
    ).all()
    holds += [
        {"item_id": None, "urn": urn, "org_id": org, "reason": reason, "by": by}
        for urn, org, reason, by in rows
    ]
    for hold in holds:
        bind.execute(
            sa.text(
                "INSERT INTO legal_holds (id, org_id, item_id, urn, reason, set_by, set_at)"
                " VALUES (:id, :org, :item, :urn, :reason, :by, :at)"
            ),
            {
                "id": str(uuid.uuid4()),
                "org": hold["org_id"],
                "item": hold["item_id"],
                "urn": hold["urn"],
                "reason": hold["reason"] or "legal hold",
                "by": hold["by"] or "system",
                "at": now,
            },
        )


def downgrade() -> None:
    op.drop_table("one_time_codes")
    op.drop_table("notes")
    with op.batch_alter_table("case_retention", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hold_by", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("hold_reason", sa.String(length=300), nullable=True))
        batch_op.add_column(
            sa.Column("legal_hold", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("retention", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hold_by", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("hold_reason", sa.String(length=300), nullable=True))
        batch_op.add_column(
            sa.Column("legal_hold", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # Holds set on items come back as item holds; case-wide ones are dropped with the table.
    op.execute(
        "UPDATE retention SET legal_hold = true, hold_reason = (SELECT h.reason FROM legal_holds"
        " h WHERE h.item_id = retention.item_id AND h.released_at IS NULL LIMIT 1) WHERE"
        " EXISTS (SELECT 1 FROM legal_holds h WHERE h.item_id = retention.item_id AND"
        " h.released_at IS NULL)"
    )
    with op.batch_alter_table("legal_holds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_legal_holds_urn"))
        batch_op.drop_index(batch_op.f("ix_legal_holds_org_id"))
        batch_op.drop_index(batch_op.f("ix_legal_holds_item_id"))
    op.drop_table("legal_holds")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_urn"))
        batch_op.drop_constraint(batch_op.f("uq_cases_owner_org_id"), type_="unique")
        batch_op.create_unique_constraint("uq_cases_urn", ["urn"])
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_column("recovery_key_index")
