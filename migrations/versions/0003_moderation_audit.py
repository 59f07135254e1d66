"""Moderation audit details and the reporter index behind the queue's signals.

``moderation_actions.details`` records what an action touched beyond the account
(the removed photo's id, the removed prompt answer's text), so the audit keeps the
evidence after the content is gone. ``ix_reports_reporter_created`` serves the
per-reporter counts of the moderators' queue (reports made, reports dismissed).

Revision ID: 0003_moderation_audit
Revises: 0002_seed_prompts
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003_moderation_audit"
down_revision: str | None = "0002_seed_prompts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("moderation_actions", sa.Column("details", postgresql.JSONB(), nullable=True))
    op.create_index("ix_reports_reporter_created", "reports", ["reporter_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_reports_reporter_created", table_name="reports")
    op.drop_column("moderation_actions", "details")
