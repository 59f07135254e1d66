"""Profile photos: at most six per user, ordered by ``position``."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, SmallInteger, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, created_at, uuid_pk

MAX_PHOTOS = 6


class Photo(Base):
    """A re-encoded photo and its thumbnail, stored under unguessable keys."""

    __tablename__ = "photos"
    __table_args__ = (
        # deferred so that renumbering positions after a delete can pass through duplicates
        UniqueConstraint("user_id", "position", deferrable=True, initially="DEFERRED"),
        CheckConstraint(f"position >= 0 AND position < {MAX_PHOTOS}", name="position"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True),
                                               ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    position: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    storage_key: Mapped[str] = mapped_column(String(128), nullable=False, unique=True)
    thumb_key: Mapped[str] = mapped_column(String(128), nullable=False, unique=True)
    width: Mapped[int] = mapped_column(Integer, nullable=False)
    height: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = created_at()
