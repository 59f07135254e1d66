"""The durable per-user event log behind ``seq`` and ``sync``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Identity, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, created_at


class UserEventCounter(Base):
    """The last ``seq`` handed out to a user.

    ``UPDATE user_event_counters SET last_seq = last_seq + 1 WHERE user_id = $1
    RETURNING last_seq`` assigns the next number; the row lock serialises concurrent
    writers, so numbers are never reused and commit in order per user.
    """

    __tablename__ = "user_event_counters"

    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")


class UserEvent(Base):
    """One durable event for one user, written in the transaction that caused it; replayed by ``sync``."""

    __tablename__ = "user_events"
    __table_args__ = (UniqueConstraint("user_id", "seq"),)  # also serves WHERE user_id = $1 AND seq > $2

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    type: Mapped[str] = mapped_column(String(64), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[datetime] = created_at()
