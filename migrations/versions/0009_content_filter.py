"""The content filter's word list, contact-shielding flags on messages, and automatic reports.

``word_patterns`` holds the moderators' patterns (``block`` or ``flag``); a removed
pattern keeps its row (``removed_at``, ``removed_by``) as the audit trail, and one
pattern per folded form is in force at a time. ``messages.safety`` keeps the
contact-shielding flags a message was delivered with, so history shows the same
ones; a partial index finds a sender's flagged messages of the last day. Reports
may now be filed by the system: ``reporter_id`` is nullable, only for the new
reason ``auto_flag``. docs/safety.md has the design.

Revision ID: 0009_content_filter
Revises: 0008_account_tokens
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009_content_filter"
down_revision: str | None = "0008_account_tokens"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

USER_REASONS = "('fake_profile', 'inappropriate_content', 'harassment', 'spam', 'underage', 'other')"
STORED_REASONS = "('fake_profile', 'inappropriate_content', 'harassment', 'spam', 'underage', 'other', 'auto_flag')"


def upgrade() -> None:
    op.create_table(
        "word_patterns",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("pattern", sa.Text(), nullable=False),
        sa.Column("folded", sa.Text(), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_by", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_by", postgresql.UUID(as_uuid=True), nullable=True),
        sa.CheckConstraint("action IN ('block', 'flag')", name=op.f("ck_word_patterns_action")),
        sa.CheckConstraint("char_length(pattern) BETWEEN 1 AND 64", name=op.f("ck_word_patterns_pattern_length")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_word_patterns_created_by_users"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["removed_by"], ["users.id"], name=op.f("fk_word_patterns_removed_by_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_word_patterns")),
    )
    op.create_index("ix_word_patterns_folded_live", "word_patterns", ["folded"], unique=True,
                    postgresql_where=sa.text("removed_at IS NULL"))

    op.add_column("messages", sa.Column("safety", postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"),
                                        nullable=False))
    op.create_index("ix_messages_sender_shielded", "messages", ["sender_id", "created_at"],
                    postgresql_where=sa.text("safety <> '{}'"))

    op.alter_column("reports", "reporter_id", existing_type=postgresql.UUID(as_uuid=True), nullable=True)
    op.drop_constraint(op.f("ck_reports_reason"), "reports", type_="check")
    op.create_check_constraint(op.f("ck_reports_reason"), "reports", f"reason IN {STORED_REASONS}")
    op.create_check_constraint(op.f("ck_reports_automatic"), "reports", "reporter_id IS NOT NULL OR reason = 'auto_flag'")


def downgrade() -> None:
    # automatic reports cannot exist without the new reason and the nullable reporter: they go
    op.execute("DELETE FROM reports WHERE reporter_id IS NULL OR reason = 'auto_flag'")
    op.drop_constraint(op.f("ck_reports_automatic"), "reports", type_="check")
    op.drop_constraint(op.f("ck_reports_reason"), "reports", type_="check")
    op.create_check_constraint(op.f("ck_reports_reason"), "reports", f"reason IN {USER_REASONS}")
    op.alter_column("reports", "reporter_id", existing_type=postgresql.UUID(as_uuid=True), nullable=False)

    op.drop_index("ix_messages_sender_shielded", table_name="messages")
    op.drop_column("messages", "safety")

    op.drop_index("ix_word_patterns_folded_live", table_name="word_patterns")
    op.drop_table("word_patterns")
