"""items.ciphertext_size and uploads.length as 64-bit integers: items past 2 GiB

PostgreSQL's INTEGER ends at 2^31 - 1 bytes, so an item of 2 GiB or more could not be
added there (issue 13: single files of 60 GB). SQLite's INTEGER is 64-bit already; its
batch copy changes only the declared type.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.alter_column("ciphertext_size", existing_type=sa.Integer(),
                              type_=sa.BigInteger(), existing_nullable=False)
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.alter_column("length", existing_type=sa.Integer(), type_=sa.BigInteger(),
                              existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.alter_column("length", existing_type=sa.BigInteger(), type_=sa.Integer(),
                              existing_nullable=False)
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.alter_column("ciphertext_size", existing_type=sa.BigInteger(),
                              type_=sa.Integer(), existing_nullable=False)
