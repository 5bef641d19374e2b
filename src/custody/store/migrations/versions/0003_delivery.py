"""delivery assurance: access grants, alert outbox, webhooks, incidents, retention

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import custody.store.db

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("subject_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("recipient", sa.String(length=300), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("ledger_index", sa.Integer(), nullable=True),
        sa.Column("created_at", custody.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", custody.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_at", custody.store.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", custody.store.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("failed_at", custody.store.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("subject_id", "kind", "recipient", name=op.f("uq_alerts_subject_id")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_alerts_next_attempt_at"), ["next_attempt_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_alerts_subject_id"), ["subject_id"], unique=False)

    op.create_table(
        "org_webhooks",
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("secret_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", custody.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_org_webhooks_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_org_webhooks")),
    )
    op.create_table(
        "access_grants",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("item_id", sa.String(length=36), nullable=False),
        sa.Column("reader_user_id", sa.String(length=36), nullable=True),
        sa.Column("reader_org_id", sa.String(length=36), nullable=True),
        sa.Column("recipient", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("granted_at", custody.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("granted_by", sa.String(length=36), nullable=False),
        sa.Column("expires_at", custody.store.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", custody.store.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=36), nullable=True),
        sa.Column("end_kind", sa.String(length=20), nullable=True),
        sa.Column("end_reason", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_access_grants_item_id_items")
        ),
        sa.ForeignKeyConstraint(
            ["reader_org_id"],
            ["organisations.id"],
            name=op.f("fk_access_grants_reader_org_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["reader_user_id"], ["users.id"], name=op.f("fk_access_grants_reader_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_grants")),
    )
    with op.batch_alter_table("access_grants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_grants_item_id"), ["item_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_access_grants_reader_user_id"), ["reader_user_id"], unique=False
        )

    op.create_table(
        "incidents",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("transfer_id", sa.String(length=36), nullable=False),
        sa.Column("scope_item_id", sa.String(length=36), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("opened_by", sa.String(length=36), nullable=False),
        sa.Column("opened_at", custody.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "regulator_deadline", custody.store.db.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("reported_at", custody.store.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reported_by", sa.String(length=36), nullable=True),
        sa.Column("closed_at", custody.store.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["opened_by"], ["users.id"], name=op.f("fk_incidents_opened_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["scope_item_id"], ["items.id"], name=op.f("fk_incidents_scope_item_id_items")
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"], ["transfers.id"], name=op.f("fk_incidents_transfer_id_transfers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incidents_transfer_id"), ["transfer_id"], unique=False)

    op.create_table(
        "item_subjects",
        sa.Column("item_id", sa.String(length=36), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_item_subjects_item_id_items")
        ),
        sa.PrimaryKeyConstraint("item_id", "reference", name=op.f("pk_item_subjects")),
    )
    op.create_table(
        "retention",
        sa.Column("item_id", sa.String(length=36), nullable=False),
        sa.Column("retain_until", custody.store.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("legal_hold", sa.Boolean(), nullable=False),
        sa.Column("hold_reason", sa.String(length=300), nullable=True),
        sa.Column("shredded_at", custody.store.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("shredded_by", sa.String(length=36), nullable=True),
        sa.Column("shred_reason", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_retention_item_id_items")),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_retention")),
    )
    with op.batch_alter_table("retention", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_retention_retain_until"), ["retain_until"], unique=False
        )

    # Every wrap sealed before this revision was granted with its transfer.
    op.execute(
        "INSERT INTO access_grants (id, item_id, reader_user_id, reader_org_id, recipient, kind,"
        " granted_at, granted_by)"
        " SELECT w.id, w.item_id, w.reader_user_id, w.reader_org_id, w.recipient,"
        " CASE WHEN w.reader_user_id IS NULL THEN 'recovery' ELSE 'transfer' END,"
        " w.created_at, t.sender_id"
        " FROM key_wraps w JOIN items i ON i.id = w.item_id JOIN transfers t ON t.id = i.transfer_id"
    )


def downgrade() -> None:
    with op.batch_alter_table("retention", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_retention_retain_until"))

    op.drop_table("retention")
    op.drop_table("item_subjects")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incidents_transfer_id"))

    op.drop_table("incidents")
    with op.batch_alter_table("access_grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_grants_reader_user_id"))
        batch_op.drop_index(batch_op.f("ix_access_grants_item_id"))

    op.drop_table("access_grants")
    op.drop_table("org_webhooks")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_subject_id"))
        batch_op.drop_index(batch_op.f("ix_alerts_next_attempt_at"))

    op.drop_table("alerts")
