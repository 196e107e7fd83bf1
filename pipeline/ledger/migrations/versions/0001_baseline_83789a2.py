"""Revision 0001: the ledger's tables as commit 83789a2 created them (every ledger written before migrations)."""

from __future__ import annotations

from alembic import op

from pipeline.ledger.migrations import baseline

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    baseline.metadata.create_all(op.get_bind(), checkfirst=False)


def downgrade() -> None:
    baseline.metadata.drop_all(op.get_bind(), checkfirst=False)
