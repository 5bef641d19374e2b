"""folded refusals (refusal_tallies, security_events.occurrences); keyed recovery codes

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

Recovery codes made before this revision are unkeyed SHA-256 of 48-bit codes;
they are marked ``scheme = 'sha256'`` and stay usable until used or until the
person enrols again (services/second_factor.py says why). Every code made
from now on is ``'hmac-sha256'``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from custody.store.db import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("recovery_codes") as batch:
        batch.add_column(
            sa.Column("scheme", sa.String(length=20), nullable=False, server_default="sha256")
        )
    # Only the rows that existed are legacy: a new row must say how it was hashed.
    with op.batch_alter_table("recovery_codes") as batch:
        batch.alter_column("scheme", server_default=None)
    with op.batch_alter_table("security_events") as batch:
        batch.add_column(sa.Column("occurrences", sa.Integer(), nullable=False, server_default="1"))
    op.create_table(
        "refusal_tallies",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("first_ref", sa.String(length=36), nullable=True),
        sa.Column("opened_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("closes_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("repeats", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_refusal_tallies")),
    )
    op.create_index(op.f("ix_refusal_tallies_closes_at"), "refusal_tallies", ["closes_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_refusal_tallies_closes_at"), table_name="refusal_tallies")
    op.drop_table("refusal_tallies")
    with op.batch_alter_table("security_events") as batch:
        batch.drop_column("occurrences")
    # The older code compares unkeyed SHA-256 only: keyed codes could never match there.
    op.execute("DELETE FROM recovery_codes WHERE scheme <> 'sha256'")
    with op.batch_alter_table("recovery_codes") as batch:
        batch.drop_column("scheme")
