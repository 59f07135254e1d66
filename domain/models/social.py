"""Likes, passes, matches, blocks and the daily like counter: who may still meet whom."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, created_at, uuid_pk
from domain.wire.enums import MatchState

MAX_COMMENT_CHARS = 500
MATCH_STATES = ("active", "unmatched", "archived", "dating", "deleted")
UNMATCH_REASONS = ("not_interested", "no_response", "inappropriate", "met_offline", "other")


def _user_fk(*, primary_key: bool = False) -> Mapped[uuid.UUID]:
    """A NOT NULL reference to a user that goes when the account is erased."""
    return mapped_column(UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False,
                         primary_key=primary_key)


class Like(Base):
    """One person liking another, at most once per pair, with the optional first-likes comment."""

    __tablename__ = "likes"
    __table_args__ = (
        UniqueConstraint("liker_id", "likee_id"),
        CheckConstraint("liker_id <> likee_id", name="not_self"),
        CheckConstraint(f"char_length(comment) <= {MAX_COMMENT_CHARS}", name="comment_length"),
        Index("ix_likes_likee_created", "likee_id", "created_at"),  # who liked me
        Index("ix_likes_liker_created", "liker_id", "created_at"),  # velocity window, first likes ever
        Index("ix_likes_liker_comment_norm", "liker_id", "comment_norm",  # same-comment spam check
              postgresql_where=text("comment_norm IS NOT NULL")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    liker_id: Mapped[uuid.UUID] = _user_fk()
    likee_id: Mapped[uuid.UUID] = _user_fk()
    comment: Mapped[str | None] = mapped_column(Text)
    # comment folded for comparison (case, spaces, look-alike characters)
    comment_norm: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()


class Pass(Base):
    """A pass hides the passee from the passer's discovery until ``expires_at``."""

    __tablename__ = "passes"
    __table_args__ = (
        CheckConstraint("passer_id <> passee_id", name="not_self"),
        Index("ix_passes_passee", "passee_id"),  # cascades when an account is erased
    )

    passer_id: Mapped[uuid.UUID] = _user_fk(primary_key=True)
    passee_id: Mapped[uuid.UUID] = _user_fk(primary_key=True)
    created_at: Mapped[datetime] = created_at()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class Match(Base):
    """One row per unordered pair (``user_a < user_b``), created once, moved through ``MATCH_STATES``."""

    __tablename__ = "matches"
    __table_args__ = (
        UniqueConstraint("user_a", "user_b"),
        CheckConstraint("user_a < user_b", name="ordered_pair"),
        CheckConstraint(f"state IN {MATCH_STATES}", name="state"),
        CheckConstraint(f"unmatch_reason IS NULL OR unmatch_reason IN {UNMATCH_REASONS}",
                        name="unmatch_reason"),
        CheckConstraint("unmatched_by IS NULL OR unmatched_by IN (user_a, user_b)", name="unmatched_by"),
        Index("ix_matches_user_a_state", "user_a", "state"),
        Index("ix_matches_user_b_state", "user_b", "state"),
        # the archive job: active matches idle for 7 days, i.e.
        # WHERE state = 'active' AND coalesce(last_message_at, matched_at) < now() - interval '7 days'
        Index("ix_matches_active_idle", text("coalesce(last_message_at, matched_at)"),
              postgresql_where=text("state = 'active'")),
        Index("ix_matches_matched_at", "matched_at"),  # moderation.stats: matches today (migration 0011)
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_a: Mapped[uuid.UUID] = _user_fk()
    user_b: Mapped[uuid.UUID] = _user_fk()
    state: Mapped[MatchState] = mapped_column(String(16), nullable=False, server_default="active")
    matched_at: Mapped[datetime] = created_at()
    state_changed_at: Mapped[datetime] = created_at()
    a_dating_confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    b_dating_confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_message_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    unmatched_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    unmatch_reason: Mapped[str | None] = mapped_column(String(16))


class Block(Base):
    """A permanent block; it hides both people from each other whichever way it points."""

    __tablename__ = "blocks"
    __table_args__ = (
        CheckConstraint("blocker_id <> blocked_id", name="not_self"),
        Index("ix_blocks_blocked", "blocked_id"),
    )

    blocker_id: Mapped[uuid.UUID] = _user_fk(primary_key=True)
    blocked_id: Mapped[uuid.UUID] = _user_fk(primary_key=True)
    created_at: Mapped[datetime] = created_at()


class DailyLikeCount(Base):
    """Likes sent per user per UTC day; incremented with an upsert so the daily cap is race-free."""

    __tablename__ = "daily_like_counts"
    __table_args__ = (CheckConstraint("count >= 0", name="count"),)

    user_id: Mapped[uuid.UUID] = _user_fk(primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
