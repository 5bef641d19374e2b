"""Indexes for the transfer lists: newest first, a page at a time

An inbox or outbox page is the newest 50 of a person's transfers (services.paging: keyset,
never OFFSET). Without an index in that order, the database reads and sorts all of them
for every page: on PostgreSQL, 250 ms for a prosecutor with 20,000 transfers (the nested
loop over their recipient rows), 7 ms with ``transfers (created_at, id)`` walked backwards,
probing each transfer's recipients by primary key until the page is full. The outbox's
``(sender_id, created_at, id)`` reads a sender's page straight off the index. bench/inbox.py
measures it (issue 17).

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_transfers_created_at_id", "transfers", ["created_at", "id"])
    op.create_index(
        "ix_transfers_sender_created_at_id", "transfers", ["sender_id", "created_at", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_transfers_sender_created_at_id", table_name="transfers")
    op.drop_index("ix_transfers_created_at_id", table_name="transfers")
