"""The content filter's word list: patterns moderators add and remove (docs/safety.md)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, created_at, uuid_pk
from domain.wire.enums import WordAction

WORD_ACTIONS = ("block", "flag")
MAX_PATTERN_CHARS = 64


class WordPattern(Base):
    """One pattern; a removed one keeps its row (``removed_at``, ``removed_by``) as the audit trail."""

    __tablename__ = "word_patterns"
    __table_args__ = (
        CheckConstraint(f"action IN {WORD_ACTIONS}", name="action"),
        CheckConstraint(f"char_length(pattern) BETWEEN 1 AND {MAX_PATTERN_CHARS}", name="pattern_length"),
        # one pattern in force per folded form ("B.A.D" and "bad" are the same pattern)
        Index("ix_word_patterns_folded_live", "folded", unique=True, postgresql_where=text("removed_at IS NULL")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    pattern: Mapped[str] = mapped_column(Text, nullable=False)
    folded: Mapped[str] = mapped_column(Text, nullable=False)  # the pattern after the filter's normalisation
    action: Mapped[WordAction] = mapped_column(String(8), nullable=False)
    created_at: Mapped[datetime] = created_at()
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="SET NULL"))
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    removed_by: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="SET NULL"))
