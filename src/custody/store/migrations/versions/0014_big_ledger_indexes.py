"""Ledger indexes kept outside the log as 64-bit integers

The log's own tables count in 64 bits already; five columns that point into it did not:
user_keys.ledger_index, access_records.ledger_index, alerts.ledger_index,
organisations.recovery_key_index and transfers.sender_key_index. On PostgreSQL an INTEGER
ends at 2^31 - 1, an index a national log reaches (issue 13: 2,000 appends a second fill
it in about twelve days of load). SQLite's INTEGER is 64-bit already; its batch copy
changes only the declared type.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

COLUMNS = (
    ("user_keys", "ledger_index", False),
    ("access_records", "ledger_index", False),
    ("alerts", "ledger_index", True),
    ("organisations", "recovery_key_index", True),
    ("transfers", "sender_key_index", False),
)


def upgrade() -> None:
    for table, column, nullable in COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=sa.Integer(), type_=sa.BigInteger(),
                                  existing_nullable=nullable)


def downgrade() -> None:
    for table, column, nullable in reversed(COLUMNS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=sa.BigInteger(), type_=sa.Integer(),
                                  existing_nullable=nullable)
