"""item views: the browser player's viewings, one item:viewed entry each

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import custody.store.db

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "item_views",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("item_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("ledger_index", sa.BigInteger(), nullable=False),
        sa.Column("started_at", custody.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", custody.store.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_item_views_item_id_items")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_item_views_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_views")),
    )
    with op.batch_alter_table("item_views", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_item_views_item_id"), ["item_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("item_views", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_views_item_id"))
    op.drop_table("item_views")
