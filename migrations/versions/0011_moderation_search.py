"""Moderators' user search, decisions without a report, and the statistics panel.

- ``ix_users_email_prefix`` on ``lower(email::text) text_pattern_ops`` and ``ix_users_name_prefix`` on
  ``(lower(display_name) text_pattern_ops, id)``: ``moderation.search`` looks up a case-insensitive prefix
  as a range of these (character-by-character order, whatever the database's collation) and reads the
  first 20 in index order (``users.email`` is citext, whose own unique index cannot serve a prefix).
- ``ix_users_created_at``, ``ix_matches_matched_at``, ``ix_messages_created_at``: ``moderation.stats``
  counts signups, matches and messages since UTC midnight as index ranges.
- ``ix_reports_resolved_at`` (partial, ``INCLUDE (created_at)``): the median time to resolve a report
  over the last 7 days reads only that week's resolved reports, index-only.
- ``moderation_actions.action`` may be ``reinstate`` (``moderation.act`` lifting a suspension or ban). Other
  migrations written beside this one widen the same list, so the constraint is rebuilt from the values it
  allows *now* plus ``reinstate`` (the downgrade removes only ``reinstate``), whatever order they run in.

Revision ID: 0011_moderation_search
Revises: 0010_photo_review
Create Date: 2026-12-10
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_moderation_search"
down_revision: str | None = "0010_photo_review"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_ACTION = "reinstate"
ACTION_CONSTRAINT = "ck_moderation_actions_action"


def upgrade() -> None:
    op.execute("CREATE INDEX ix_users_email_prefix ON users (lower(email::text) text_pattern_ops)")
    op.execute("CREATE INDEX ix_users_name_prefix ON users (lower(display_name) text_pattern_ops, id)")
    op.create_index("ix_users_created_at", "users", ["created_at"])
    op.create_index("ix_matches_matched_at", "matches", ["matched_at"])
    op.create_index("ix_messages_created_at", "messages", ["created_at"])
    op.create_index("ix_reports_resolved_at", "reports", ["resolved_at"], postgresql_include=["created_at"],
                    postgresql_where=sa.text("resolved_at IS NOT NULL"))
    _set_actions([*_current_actions(), NEW_ACTION])


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM moderation_actions WHERE action = :action").bindparams(action=NEW_ACTION))
    _set_actions([a for a in _current_actions() if a != NEW_ACTION])
    op.drop_index("ix_reports_resolved_at", table_name="reports")
    op.drop_index("ix_messages_created_at", table_name="messages")
    op.drop_index("ix_matches_matched_at", table_name="matches")
    op.drop_index("ix_users_created_at", table_name="users")
    op.drop_index("ix_users_name_prefix", table_name="users")
    op.drop_index("ix_users_email_prefix", table_name="users")


def _current_actions() -> list[str]:
    """The actions the audit table's check constraint allows now, in its order."""
    definition = op.get_bind().execute(
        sa.text("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = :name"),
        {"name": ACTION_CONSTRAINT},
    ).scalar_one()
    return list(dict.fromkeys(re.findall(r"'([a-z_]+)'", definition)))


def _set_actions(actions: Sequence[str]) -> None:
    listed = ", ".join(f"'{a}'" for a in dict.fromkeys(actions))
    op.drop_constraint(op.f(ACTION_CONSTRAINT), "moderation_actions", type_="check")
    op.create_check_constraint(op.f(ACTION_CONSTRAINT), "moderation_actions", f"action IN ({listed})")
