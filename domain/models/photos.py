"""Profile photos: at most six per user, ordered by ``position``, each with its review state.

A photo is ``pending`` from upload until a moderator reviews it (``approved`` or
``rejected``, docs/moderation.md "Photo review"). A rejected photo keeps its row as the
record of the decision but leaves the owner's order (``position`` NULL), its files are
deleted, and nothing shows it again.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, created_at, uuid_pk
from domain.wire.enums import PhotoRejectReason, PhotoReviewStatus

MAX_PHOTOS = 6
REVIEW_STATUSES = ("pending", "approved", "rejected")
REJECT_REASONS = ("nudity", "violence", "not_a_person", "someone_else", "text_or_contact", "other")


class Photo(Base):
    """A re-encoded photo and its thumbnail, stored under unguessable keys."""

    __tablename__ = "photos"
    __table_args__ = (
        # deferred so that renumbering positions after a delete can pass through duplicates
        UniqueConstraint("user_id", "position", deferrable=True, initially="DEFERRED"),
        CheckConstraint(f"position >= 0 AND position < {MAX_PHOTOS}", name="position"),
        CheckConstraint(f"review_status IN {REVIEW_STATUSES}", name="review_status"),
        CheckConstraint(f"reject_reason IS NULL OR reject_reason IN {REJECT_REASONS}", name="reject_reason"),
        # pending: never reviewed; approved: reviewed (or older than review), in the owner's order;
        # rejected: reviewed with a reason and out of the owner's order (migration 0010)
        CheckConstraint(
            "(review_status = 'pending' AND reviewed_at IS NULL AND reject_reason IS NULL AND position IS NOT NULL) "
            "OR (review_status = 'approved' AND reviewed_at IS NOT NULL AND reject_reason IS NULL "
            "AND position IS NOT NULL) OR (review_status = 'rejected' AND reviewed_at IS NOT NULL "
            "AND reject_reason IS NOT NULL AND position IS NULL)", name="review_fields"),
        # the moderators' queue, oldest first (forwards) or newest first (backwards)
        Index("ix_photos_pending_created", "created_at", "id", postgresql_where=text("review_status = 'pending'")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True),
                                               ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    # NULL once rejected (the owner's remaining photos close the gap)
    position: Mapped[int | None] = mapped_column(SmallInteger)
    storage_key: Mapped[str] = mapped_column(String(128), nullable=False, unique=True)
    thumb_key: Mapped[str] = mapped_column(String(128), nullable=False, unique=True)
    width: Mapped[int] = mapped_column(Integer, nullable=False)
    height: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = created_at()
    review_status: Mapped[PhotoReviewStatus] = mapped_column(String(16), nullable=False, server_default="pending")
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reviewed_by: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="SET NULL"))
    reject_reason: Mapped[PhotoRejectReason | None] = mapped_column(String(32))
