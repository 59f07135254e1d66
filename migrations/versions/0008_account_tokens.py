"""Accounts: email verification, password reset tokens and the personal-data export's limit.

``account_tokens`` holds the single-use tokens mailed as links (email verification,
password reset), each only as the SHA-256 of the token, with its expiry and the time
it was used or superseded. ``users`` gains ``email_verified`` (false for every
existing account until its owner follows a link), ``password_changed_at`` (a reset
token issued before it no longer works) and ``last_export_at`` (one export per hour).
docs/accounts.md has the design.

Revision ID: 0008_account_tokens
Revises: 0007_inbox_index
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008_account_tokens"
down_revision: str | None = "0007_inbox_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # the server default fills every existing row with false in the same statement
    op.add_column("users", sa.Column("email_verified", sa.Boolean(), server_default=sa.text("false"),
                                     nullable=False))
    op.add_column("users", sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("users", sa.Column("last_export_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "account_tokens",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("user_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("requested", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("purpose IN ('verify_email', 'reset_password')", name=op.f("ck_account_tokens_purpose")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_account_tokens_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_account_tokens_token_hash")),
    )
    op.create_index("ix_account_tokens_user_purpose_created", "account_tokens",
                    ["user_id", "purpose", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_account_tokens_user_purpose_created", table_name="account_tokens")
    op.drop_table("account_tokens")
    op.drop_column("users", "last_export_at")
    op.drop_column("users", "password_changed_at")
    op.drop_column("users", "email_verified")
