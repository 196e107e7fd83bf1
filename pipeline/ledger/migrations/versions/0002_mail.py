"""Revision 0002: the mail tables: messages taken from the mailbox, the files they left, and the outbox."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Written out, not imported from tables.py: a revision stays what it was when later ones change the tables.
    op.create_table(
        "mail_messages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("uidvalidity", sa.BigInteger, nullable=False),
        sa.Column("uid", sa.BigInteger, nullable=False),
        sa.Column("message_id", sa.Text),
        sa.Column("sender", sa.Text),
        sa.Column("received_at", sa.DateTime, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text),
        sa.UniqueConstraint("uidvalidity", "uid", name="uq_mail_messages_uidvalidity_uid"),
    )
    op.create_index("ix_mail_messages_message_id", "mail_messages", ["message_id"])
    op.create_table(
        "mail_files",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("message", sa.Integer, sa.ForeignKey("mail_messages.id"), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.UniqueConstraint("path", name="uq_mail_files_path"),
    )
    op.create_index("ix_mail_files_message", "mail_files", ["message"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("school", sa.String(32)),
        sa.Column("recipient", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("message", sa.LargeBinary, nullable=False),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.Column("sent_at", sa.DateTime),
        sa.Column("refused", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.UniqueConstraint("key", name="uq_outbox_key"),
    )
    op.create_index("ix_outbox_year", "outbox", ["year"])


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("mail_files")
    op.drop_table("mail_messages")
