"""Photo review: every photo carries a review state; the moderators' queue reads the pending ones.

``photos`` gains ``review_status`` (``pending`` | ``approved`` | ``rejected``), ``reviewed_at``,
``reviewed_by`` (the moderator; NULL if that account is gone, and for the photos approved
here) and ``reject_reason`` (a closed list of violation types). A rejected photo keeps its
row as the record of the decision but leaves its owner's order: its ``position`` becomes NULL
(the remaining photos close the gap) and its files are deleted (docs/moderation.md
"Photo review").

- **Backfill.** Every photo that exists now was live before review existed, seen by
  people for days or months; putting them all in the queue would bury the new uploads
  (which is what moderators must watch) under a one-off backlog. They are marked
  ``approved`` with ``reviewed_at = created_at`` and no reviewer. The column is added
  with ``'approved'`` as its default (filling existing rows in the same statement), and
  the default then becomes ``'pending'``, so every photo inserted afterwards, by any
  path, enters the queue.
- ``ix_photos_pending_created``: a partial index on ``(created_at, id)`` of the pending
  photos only, read forwards for the oldest-first view and backwards for the newest-first
  one; it stays as small as the queue.
- ``users.photo_count`` (migration 0004's statement-level triggers) now counts photos that
  are not rejected: the insert and delete triggers skip rejected rows, and a new update
  trigger moves the count when a photo's status changes to or from ``rejected``. So a
  rejected photo no longer makes its owner "a profile with a photo" for discovery.
- ``moderation_actions.action`` also accepts ``approve_photo`` and ``reject_photo``. Other
  migrations written beside this one may widen the same list, so the constraint is rebuilt
  from the values it allows *now* plus these two (and the downgrade removes only these two),
  whatever order the branches run in.

Revision ID: 0010_photo_review
Revises: 0009_content_filter
Create Date: 2026-12-06
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010_photo_review"
down_revision: str | None = "0009_content_filter"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = ("pending", "approved", "rejected")
REASONS = ("nudity", "violence", "not_a_person", "someone_else", "text_or_contact", "other")
NEW_ACTIONS = ("approve_photo", "reject_photo")
ACTION_CONSTRAINT = "ck_moderation_actions_action"

# 0004's body, with rejected rows left out of the count
_COUNT_BODY = (
    "UPDATE users u SET photo_count = u.photo_count + d.delta FROM ("
    "SELECT user_id, count(*) * CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END AS delta "
    "FROM changed {where} GROUP BY user_id) d WHERE u.id = d.user_id;"
)
_REVIEW_COUNT_BODY = (
    "UPDATE users u SET photo_count = u.photo_count + d.delta FROM ("
    "SELECT n.user_id, sum(CASE WHEN n.review_status = 'rejected' THEN -1 ELSE 1 END) AS delta "
    "FROM old_rows o JOIN new_rows n ON n.id = o.id "
    "WHERE (o.review_status = 'rejected') <> (n.review_status = 'rejected') GROUP BY n.user_id) d "
    "WHERE u.id = d.user_id;"
)

# pending: never reviewed; approved: reviewed (or grandfathered), in the owner's order;
# rejected: reviewed with a reason and out of the owner's order (position NULL)
REVIEW_FIELDS = (
    "(review_status = 'pending' AND reviewed_at IS NULL AND reject_reason IS NULL AND position IS NOT NULL) OR "
    "(review_status = 'approved' AND reviewed_at IS NOT NULL AND reject_reason IS NULL AND position IS NOT NULL) "
    "OR (review_status = 'rejected' AND reviewed_at IS NOT NULL AND reject_reason IS NOT NULL "
    "AND position IS NULL)"
)


def _quoted(values: Sequence[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def upgrade() -> None:
    op.add_column("photos", sa.Column("review_status", sa.String(16), server_default="approved", nullable=False))
    op.add_column("photos", sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("photos", sa.Column("reviewed_by", postgresql.UUID(as_uuid=True), nullable=True))
    op.add_column("photos", sa.Column("reject_reason", sa.String(32), nullable=True))
    op.execute("UPDATE photos SET reviewed_at = created_at")
    op.alter_column("photos", "review_status", server_default="pending")
    op.alter_column("photos", "position", nullable=True)
    op.create_foreign_key(op.f("fk_photos_reviewed_by_users"), "photos", "users", ["reviewed_by"], ["id"],
                          ondelete="SET NULL")
    op.create_check_constraint(op.f("ck_photos_review_status"), "photos", f"review_status IN ({_quoted(STATUSES)})")
    op.create_check_constraint(op.f("ck_photos_reject_reason"), "photos",
                               f"reject_reason IS NULL OR reject_reason IN ({_quoted(REASONS)})")
    op.create_check_constraint(op.f("ck_photos_review_fields"), "photos", REVIEW_FIELDS)
    op.create_index("ix_photos_pending_created", "photos", ["created_at", "id"],
                    postgresql_where=sa.text("review_status = 'pending'"))
    _count_triggers(where="WHERE review_status <> 'rejected'")
    op.execute("CREATE FUNCTION discovery_count_reviewed_photos() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
               f"{_REVIEW_COUNT_BODY} RETURN NULL; END $$")
    op.execute("CREATE TRIGGER discovery_count_photos_review AFTER UPDATE ON photos "
               "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
               "EXECUTE FUNCTION discovery_count_reviewed_photos()")
    _set_actions([*_current_actions(), *NEW_ACTIONS])


def downgrade() -> None:
    op.execute(f"DELETE FROM moderation_actions WHERE action IN ({_quoted(NEW_ACTIONS)})")  # noqa: S608 - constants
    _set_actions([a for a in _current_actions() if a not in NEW_ACTIONS])
    op.execute("DROP TRIGGER discovery_count_photos_review ON photos")
    op.execute("DROP FUNCTION discovery_count_reviewed_photos()")
    # rejected photos have no files any more: they go, and the counts are those of 0004 again
    op.execute("DELETE FROM photos WHERE review_status = 'rejected'")
    _count_triggers(where="")
    op.drop_index("ix_photos_pending_created", table_name="photos")
    op.drop_constraint(op.f("ck_photos_review_fields"), "photos", type_="check")
    op.drop_constraint(op.f("ck_photos_reject_reason"), "photos", type_="check")
    op.drop_constraint(op.f("ck_photos_review_status"), "photos", type_="check")
    op.drop_constraint(op.f("fk_photos_reviewed_by_users"), "photos", type_="foreignkey")
    op.alter_column("photos", "position", nullable=False)
    op.drop_column("photos", "reject_reason")
    op.drop_column("photos", "reviewed_by")
    op.drop_column("photos", "reviewed_at")
    op.drop_column("photos", "review_status")


def _count_triggers(where: str) -> None:
    """Replace the body of 0004's photo counter (its insert and delete triggers keep calling it)."""
    op.execute("CREATE OR REPLACE FUNCTION discovery_count_photos() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
               f"{_COUNT_BODY.format(where=where)} RETURN NULL; END $$")


def _current_actions() -> list[str]:
    """The actions the audit table's check constraint allows now, in its order."""
    definition = op.get_bind().execute(
        sa.text("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = :name"),
        {"name": ACTION_CONSTRAINT},
    ).scalar_one()
    return list(dict.fromkeys(re.findall(r"'([a-z_]+)'", definition)))


def _set_actions(actions: Sequence[str]) -> None:
    op.drop_constraint(op.f(ACTION_CONSTRAINT), "moderation_actions", type_="check")
    op.create_check_constraint(op.f(ACTION_CONSTRAINT), "moderation_actions",
                               f"action IN ({_quoted(list(dict.fromkeys(actions)))})")
