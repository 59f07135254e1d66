"""The inbox of matches.list: messages' history index also carries sender_id.

``matches.list`` counts, per match, the partner's messages after the caller's read
position and shows the newest message. Both walk ``(match_id, created_at DESC, id)``;
with ``sender_id`` included the count is an index-only scan (no heap visit per unread
message), and history paging is unchanged.

Revision ID: 0007_inbox_index
Revises: 0006_mail_outbox
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_inbox_index"
down_revision: str | None = "0006_mail_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_messages_match_history", table_name="messages")
    op.create_index("ix_messages_match_history", "messages",
                    ["match_id", sa.literal_column("created_at DESC"), "id"], postgresql_include=["sender_id"])


def downgrade() -> None:
    op.drop_index("ix_messages_match_history", table_name="messages")
    op.create_index("ix_messages_match_history", "messages",
                    ["match_id", sa.literal_column("created_at DESC"), "id"])
