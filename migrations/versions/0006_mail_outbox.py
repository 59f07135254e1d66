"""The mail outbox: mails written in the transaction that causes them, sent after commit.

``mail_outbox`` holds one row per mail. A row is pending while ``sent_at`` and
``failed_at`` are both null; ``due_at`` is when a node may take it next (the retry
time, or the end of the lease of the node sending it, whose batch token is
``claim``). ``ix_mail_outbox_due`` indexes the pending rows only, so the senders'
poll stays an empty index scan however many mails were sent. docs/mail.md has the
whole design.

Revision ID: 0006_mail_outbox
Revises: 0005_location_cells
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006_mail_outbox"
down_revision: str | None = "0005_location_cells"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mail_outbox",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=True),
        sa.Column("html_body", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("claim", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.CheckConstraint("sent_at IS NULL OR failed_at IS NULL", name=op.f("ck_mail_outbox_one_outcome")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_outbox")),
    )
    op.create_index("ix_mail_outbox_due", "mail_outbox", ["due_at"],
                    postgresql_where=sa.text("sent_at IS NULL AND failed_at IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_mail_outbox_due", table_name="mail_outbox")
    op.drop_table("mail_outbox")
