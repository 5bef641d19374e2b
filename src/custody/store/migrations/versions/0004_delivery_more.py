"""delivery assurance, second half: case retention and who set retention and holds

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import custody.store.db

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_retention",
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("retain_until", custody.store.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("set_by", sa.String(length=36), nullable=True),
        sa.Column("legal_hold", sa.Boolean(), nullable=False),
        sa.Column("hold_reason", sa.String(length=300), nullable=True),
        sa.Column("hold_by", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_retention_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_retention")),
    )
    with op.batch_alter_table("case_retention", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_retention_retain_until"), ["retain_until"], unique=False
        )
    with op.batch_alter_table("retention", schema=None) as batch_op:
        batch_op.add_column(sa.Column("set_by", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("hold_by", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("retention", schema=None) as batch_op:
        batch_op.drop_column("hold_by")
        batch_op.drop_column("set_by")
    with op.batch_alter_table("case_retention", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_retention_retain_until"))
    op.drop_table("case_retention")
