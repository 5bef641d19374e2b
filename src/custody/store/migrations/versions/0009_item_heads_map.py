"""the item-heads map: each item's latest entry, committed to by ledger:heads entries

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_map_nodes",
        sa.Column("path", sa.LargeBinary(length=34), nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("leaf_key", sa.LargeBinary(length=32), nullable=True),
        sa.PrimaryKeyConstraint("path", name=op.f("pk_ledger_map_nodes")),
    )
    # The map starts empty: the first fold takes in the whole log.
    with op.batch_alter_table("ledger_head", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("heads_size", sa.BigInteger(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("ledger_head", schema=None) as batch_op:
        batch_op.drop_column("heads_size")
    op.drop_table("ledger_map_nodes")
