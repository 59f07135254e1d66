"""Initial schema: extensions and every table of the product.

Generated with Alembic autogenerate against an empty database, then reviewed by
hand: grouped by feature in dependency order, constraint names as the naming
convention in ``domain/models/base.py`` produces them, and a downgrade that
removes everything, the extensions included.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects import postgresql

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# vector: trait vectors and their HNSW index; cube + earthdistance: the users distance index;
# citext: case-insensitive email. Order matters: earthdistance requires cube.
EXTENSIONS = ("vector", "cube", "earthdistance", "citext")


def _timestamp(name: str, *, now: bool = True) -> sa.Column[object]:
    """A timestamptz column; ``now=True`` makes it NOT NULL DEFAULT now()."""
    if now:
        return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False)
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def _user_fk(table: str, column: str, ondelete: str = "CASCADE") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], ["users.id"], name=op.f(f"fk_{table}_{column}_users"),
                                   ondelete=ondelete)


def upgrade() -> None:
    _extensions()
    _users()
    _auth()
    _photos()
    _profiles()
    _social()
    _chat()
    _events()
    _moderation()


def downgrade() -> None:
    for table in (
        "moderation_actions", "reports",
        "user_events", "user_event_counters",
        "match_reads", "messages",
        "daily_like_counts", "blocks", "matches", "passes", "likes",
        "user_badges", "user_traits", "quiz_responses", "prompt_answers", "prompts",
        "photos",
        "refresh_tokens", "token_families",
        "users",
    ):
        op.drop_table(table)  # drops the table's indexes and constraints with it
    op.execute("DROP FUNCTION earth_point(double precision, double precision)")
    for extension in reversed(EXTENSIONS):
        op.execute(f"DROP EXTENSION IF EXISTS {extension}")


def _extensions() -> None:
    for extension in EXTENSIONS:
        op.execute(f"CREATE EXTENSION IF NOT EXISTS {extension}")
    # earth_point wraps ll_to_earth with a pinned search_path. earthdistance 1.1 (PostgreSQL 16/17)
    # has unqualified function bodies, which fail under the restricted search_path that PostgreSQL 17+
    # uses for CREATE INDEX and ANALYZE; 1.2 (PostgreSQL 18) is fine either way. Indexing our wrapper
    # works on all of them. Discovery must use the same expression to hit the index.
    op.execute(
        "CREATE FUNCTION earth_point(lat double precision, lon double precision) RETURNS earth "
        "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = public, pg_temp "
        "AS 'SELECT ll_to_earth(lat, lon)'"
    )


def _users() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("email", postgresql.CITEXT(), nullable=False),
        sa.Column("password_hash", sa.String(length=100), nullable=False),
        sa.Column("display_name", sa.String(length=50), nullable=False),
        sa.Column("birthdate", sa.Date(), nullable=False),
        sa.Column("bio", sa.Text(), server_default="", nullable=False),
        sa.Column("gender", sa.String(length=16), nullable=True),
        sa.Column("interested_in", postgresql.ARRAY(sa.String(length=16)), server_default="{}", nullable=False),
        sa.Column("age_min", sa.SmallInteger(), server_default="18", nullable=False),
        sa.Column("age_max", sa.SmallInteger(), server_default="99", nullable=False),
        sa.Column("max_distance_km", sa.SmallInteger(), server_default="50", nullable=False),
        sa.Column("lat", sa.Double(), nullable=True),
        sa.Column("lon", sa.Double(), nullable=True),
        sa.Column("role", sa.String(length=16), server_default="user", nullable=False),
        sa.Column("status", sa.String(length=16), server_default="active", nullable=False),
        _timestamp("suspended_until", now=False),
        _timestamp("last_pass_undo_at", now=False),
        _timestamp("last_active_at"),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        _timestamp("deleted_at", now=False),
        sa.CheckConstraint("role IN ('user', 'moderator')", name=op.f("ck_users_role")),
        sa.CheckConstraint("status IN ('active', 'suspended', 'banned', 'deleted')", name=op.f("ck_users_status")),
        sa.CheckConstraint("gender IS NULL OR gender IN ('woman', 'man', 'nonbinary')", name=op.f("ck_users_gender")),
        sa.CheckConstraint("age_min >= 18 AND age_max <= 120 AND age_min <= age_max", name=op.f("ck_users_age_range")),
        sa.CheckConstraint("max_distance_km BETWEEN 1 AND 20000", name=op.f("ck_users_max_distance")),
        sa.CheckConstraint("(lat IS NULL) = (lon IS NULL)", name=op.f("ck_users_location_pair")),
        sa.CheckConstraint("lat IS NULL OR (lat BETWEEN -90 AND 90 AND lon BETWEEN -180 AND 180)",
                           name=op.f("ck_users_location")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_index("ix_users_earth", "users", [sa.literal_column("earth_point(lat, lon)")],
                    postgresql_using="gist", postgresql_where=sa.text("lat IS NOT NULL"))
    op.create_index("ix_users_status_active", "users", ["status", "last_active_at"])


def _auth() -> None:
    op.create_table(
        "token_families",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        _timestamp("created_at"),
        _timestamp("revoked_at", now=False),
        sa.Column("revoked_reason", sa.String(length=32), nullable=True),
        _user_fk("token_families", "user_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_token_families")),
    )
    op.create_index("ix_token_families_user_live", "token_families", ["user_id"],
                    postgresql_where=sa.text("revoked_at IS NULL"))

    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("family_id", sa.UUID(), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        _timestamp("issued_at"),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        _timestamp("used_at", now=False),
        sa.ForeignKeyConstraint(["family_id"], ["token_families.id"],
                                name=op.f("fk_refresh_tokens_family_id_token_families"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refresh_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_refresh_tokens_token_hash")),
    )
    op.create_index("ix_refresh_tokens_family_id", "refresh_tokens", ["family_id"])


def _photos() -> None:
    op.create_table(
        "photos",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("storage_key", sa.String(length=128), nullable=False),
        sa.Column("thumb_key", sa.String(length=128), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        _timestamp("created_at"),
        sa.CheckConstraint("position >= 0 AND position < 6", name=op.f("ck_photos_position")),
        _user_fk("photos", "user_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_photos")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_photos_storage_key")),
        sa.UniqueConstraint("thumb_key", name=op.f("uq_photos_thumb_key")),
        sa.UniqueConstraint("user_id", "position", deferrable=True, initially="DEFERRED",
                            name=op.f("uq_photos_user_id_position")),
    )


def _profiles() -> None:
    op.create_table(
        "prompts",
        sa.Column("id", sa.String(length=48), nullable=False),
        sa.Column("text", sa.String(length=200), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        _timestamp("created_at"),
        sa.CheckConstraint("id ~ '^[a-z0-9_]{1,48}$'", name=op.f("ck_prompts_id_slug")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prompts")),
    )

    op.create_table(
        "prompt_answers",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("prompt_id", sa.String(length=48), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.CheckConstraint("char_length(answer) BETWEEN 1 AND 300", name=op.f("ck_prompt_answers_answer_length")),
        _user_fk("prompt_answers", "user_id"),
        sa.ForeignKeyConstraint(["prompt_id"], ["prompts.id"], name=op.f("fk_prompt_answers_prompt_id_prompts")),
        sa.PrimaryKeyConstraint("user_id", "prompt_id", name=op.f("pk_prompt_answers")),
    )

    op.create_table(
        "quiz_responses",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("answers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        _timestamp("submitted_at"),
        sa.CheckConstraint("jsonb_typeof(answers) = 'object'", name=op.f("ck_quiz_responses_answers_object")),
        _user_fk("quiz_responses", "user_id"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_quiz_responses")),
    )

    op.create_table(
        "user_traits",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("traits", Vector(6), nullable=False),
        _timestamp("updated_at"),
        _user_fk("user_traits", "user_id"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_traits")),
    )
    # compatibility = 100 - L1/24 x 100, so the L1 ordering (<+>) is the compatibility ordering
    op.create_index("ix_user_traits_traits_l1", "user_traits", ["traits"],
                    postgresql_using="hnsw", postgresql_ops={"traits": "vector_l1_ops"})

    op.create_table(
        "user_badges",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("badge", sa.String(length=48), nullable=False),
        _timestamp("awarded_at"),
        _user_fk("user_badges", "user_id"),
        sa.PrimaryKeyConstraint("user_id", "badge", name=op.f("pk_user_badges")),
    )


def _social() -> None:
    op.create_table(
        "likes",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("liker_id", sa.UUID(), nullable=False),
        sa.Column("likee_id", sa.UUID(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("comment_norm", sa.Text(), nullable=True),
        _timestamp("created_at"),
        sa.CheckConstraint("liker_id <> likee_id", name=op.f("ck_likes_not_self")),
        sa.CheckConstraint("char_length(comment) <= 500", name=op.f("ck_likes_comment_length")),
        _user_fk("likes", "liker_id"),
        _user_fk("likes", "likee_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_likes")),
        sa.UniqueConstraint("liker_id", "likee_id", name=op.f("uq_likes_liker_id_likee_id")),
    )
    op.create_index("ix_likes_likee_created", "likes", ["likee_id", "created_at"])
    op.create_index("ix_likes_liker_created", "likes", ["liker_id", "created_at"])
    op.create_index("ix_likes_liker_comment_norm", "likes", ["liker_id", "comment_norm"],
                    postgresql_where=sa.text("comment_norm IS NOT NULL"))

    op.create_table(
        "passes",
        sa.Column("passer_id", sa.UUID(), nullable=False),
        sa.Column("passee_id", sa.UUID(), nullable=False),
        _timestamp("created_at"),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("passer_id <> passee_id", name=op.f("ck_passes_not_self")),
        _user_fk("passes", "passer_id"),
        _user_fk("passes", "passee_id"),
        sa.PrimaryKeyConstraint("passer_id", "passee_id", name=op.f("pk_passes")),
    )
    op.create_index("ix_passes_passee", "passes", ["passee_id"])

    op.create_table(
        "matches",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("user_a", sa.UUID(), nullable=False),
        sa.Column("user_b", sa.UUID(), nullable=False),
        sa.Column("state", sa.String(length=16), server_default="active", nullable=False),
        _timestamp("matched_at"),
        _timestamp("state_changed_at"),
        _timestamp("a_dating_confirmed_at", now=False),
        _timestamp("b_dating_confirmed_at", now=False),
        _timestamp("last_message_at", now=False),
        sa.Column("unmatched_by", sa.UUID(), nullable=True),
        sa.Column("unmatch_reason", sa.String(length=16), nullable=True),
        sa.CheckConstraint("user_a < user_b", name=op.f("ck_matches_ordered_pair")),
        sa.CheckConstraint("state IN ('active', 'unmatched', 'archived', 'dating', 'deleted')",
                           name=op.f("ck_matches_state")),
        sa.CheckConstraint("unmatch_reason IS NULL OR unmatch_reason IN "
                           "('not_interested', 'no_response', 'inappropriate', 'met_offline', 'other')",
                           name=op.f("ck_matches_unmatch_reason")),
        sa.CheckConstraint("unmatched_by IS NULL OR unmatched_by IN (user_a, user_b)",
                           name=op.f("ck_matches_unmatched_by")),
        _user_fk("matches", "user_a"),
        _user_fk("matches", "user_b"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matches")),
        sa.UniqueConstraint("user_a", "user_b", name=op.f("uq_matches_user_a_user_b")),
    )
    op.create_index("ix_matches_user_a_state", "matches", ["user_a", "state"])
    op.create_index("ix_matches_user_b_state", "matches", ["user_b", "state"])
    op.create_index("ix_matches_active_idle", "matches", [sa.literal_column("coalesce(last_message_at, matched_at)")],
                    postgresql_where=sa.text("state = 'active'"))

    op.create_table(
        "blocks",
        sa.Column("blocker_id", sa.UUID(), nullable=False),
        sa.Column("blocked_id", sa.UUID(), nullable=False),
        _timestamp("created_at"),
        sa.CheckConstraint("blocker_id <> blocked_id", name=op.f("ck_blocks_not_self")),
        _user_fk("blocks", "blocker_id"),
        _user_fk("blocks", "blocked_id"),
        sa.PrimaryKeyConstraint("blocker_id", "blocked_id", name=op.f("pk_blocks")),
    )
    op.create_index("ix_blocks_blocked", "blocks", ["blocked_id"])

    op.create_table(
        "daily_like_counts",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("count", sa.Integer(), server_default="0", nullable=False),
        sa.CheckConstraint("count >= 0", name=op.f("ck_daily_like_counts_count")),
        _user_fk("daily_like_counts", "user_id"),
        sa.PrimaryKeyConstraint("user_id", "day", name=op.f("pk_daily_like_counts")),
    )


def _chat() -> None:
    op.create_table(
        "messages",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("match_id", sa.UUID(), nullable=False),
        sa.Column("sender_id", sa.UUID(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("client_msg_id", sa.String(length=64), nullable=False),
        _timestamp("created_at"),
        sa.CheckConstraint("char_length(body) BETWEEN 1 AND 2000", name=op.f("ck_messages_body_length")),
        sa.CheckConstraint("char_length(client_msg_id) >= 1", name=op.f("ck_messages_client_msg_id_length")),
        sa.ForeignKeyConstraint(["match_id"], ["matches.id"], name=op.f("fk_messages_match_id_matches"),
                                ondelete="CASCADE"),
        _user_fk("messages", "sender_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint("sender_id", "client_msg_id", name=op.f("uq_messages_sender_id_client_msg_id")),
    )
    op.create_index("ix_messages_match_history", "messages",
                    ["match_id", sa.literal_column("created_at DESC"), "id"])

    op.create_table(
        "match_reads",
        sa.Column("match_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("up_to_message_id", sa.UUID(), nullable=False),
        sa.Column("up_to_at", sa.DateTime(timezone=True), nullable=False),
        _timestamp("updated_at"),
        sa.ForeignKeyConstraint(["match_id"], ["matches.id"], name=op.f("fk_match_reads_match_id_matches"),
                                ondelete="CASCADE"),
        _user_fk("match_reads", "user_id"),
        sa.PrimaryKeyConstraint("match_id", "user_id", name=op.f("pk_match_reads")),
    )


def _events() -> None:
    op.create_table(
        "user_event_counters",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), server_default="0", nullable=False),
        _user_fk("user_event_counters", "user_id"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_event_counters")),
    )

    op.create_table(
        "user_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        _timestamp("created_at"),
        _user_fk("user_events", "user_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_events")),
        sa.UniqueConstraint("user_id", "seq", name=op.f("uq_user_events_user_id_seq")),
    )


def _moderation() -> None:
    op.create_table(
        "reports",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("reporter_id", sa.UUID(), nullable=False),
        sa.Column("reported_id", sa.UUID(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("details", sa.Text(), nullable=True),
        _timestamp("created_at"),
        sa.Column("status", sa.String(length=16), server_default="open", nullable=False),
        sa.Column("resolved_by", sa.UUID(), nullable=True),
        _timestamp("resolved_at", now=False),
        sa.Column("resolution", sa.String(length=16), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.CheckConstraint("reporter_id <> reported_id", name=op.f("ck_reports_not_self")),
        sa.CheckConstraint("reason IN ('fake_profile', 'inappropriate_content', 'harassment', 'spam', "
                           "'underage', 'other')", name=op.f("ck_reports_reason")),
        sa.CheckConstraint("status IN ('open', 'resolved')", name=op.f("ck_reports_status")),
        sa.CheckConstraint("resolution IS NULL OR resolution IN ('dismiss', 'warn', 'suspend', 'ban')",
                           name=op.f("ck_reports_resolution")),
        sa.CheckConstraint("char_length(details) <= 1000", name=op.f("ck_reports_details_length")),
        sa.CheckConstraint("char_length(resolution_note) <= 2000", name=op.f("ck_reports_resolution_note_length")),
        sa.CheckConstraint("(status = 'open' AND resolved_at IS NULL AND resolution IS NULL) OR "
                           "(status = 'resolved' AND resolved_at IS NOT NULL AND resolution IS NOT NULL)",
                           name=op.f("ck_reports_resolved_fields")),
        _user_fk("reports", "reporter_id"),
        _user_fk("reports", "reported_id"),
        _user_fk("reports", "resolved_by", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
    )
    op.create_index("ix_reports_open_created", "reports", ["created_at"], postgresql_where=sa.text("status = 'open'"))
    op.create_index("ix_reports_reported_created", "reports", ["reported_id", "created_at"])

    op.create_table(
        "moderation_actions",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("moderator_id", sa.UUID(), nullable=True),
        sa.Column("target_user_id", sa.UUID(), nullable=False),
        sa.Column("report_id", sa.UUID(), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("days", sa.Integer(), nullable=True),
        _timestamp("created_at"),
        sa.CheckConstraint("action IN ('dismiss', 'warn', 'suspend', 'ban', 'remove_photo', 'remove_prompt')",
                           name=op.f("ck_moderation_actions_action")),
        sa.CheckConstraint("char_length(note) <= 2000", name=op.f("ck_moderation_actions_note_length")),
        sa.CheckConstraint("days IS NULL OR (action = 'suspend' AND days BETWEEN 1 AND 3650)",
                           name=op.f("ck_moderation_actions_days")),
        _user_fk("moderation_actions", "moderator_id", ondelete="SET NULL"),
        _user_fk("moderation_actions", "target_user_id"),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"], name=op.f("fk_moderation_actions_report_id_reports"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_actions")),
    )
    op.create_index("ix_moderation_actions_target_created", "moderation_actions", ["target_user_id", "created_at"])
