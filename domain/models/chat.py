"""Messages inside a match and each member's read position."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String, Text, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, created_at, uuid_pk

MAX_BODY_CHARS = 2000
MAX_CLIENT_MSG_ID_CHARS = 64


class Message(Base):
    """A chat message; ``(sender_id, client_msg_id)`` is unique so a retried send returns the same row."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("sender_id", "client_msg_id"),
        CheckConstraint(f"char_length(body) BETWEEN 1 AND {MAX_BODY_CHARS}", name="body_length"),
        CheckConstraint("char_length(client_msg_id) >= 1", name="client_msg_id_length"),
        # contact shielding: a sender's flagged messages of the last day, counted per match (docs/safety.md)
        Index("ix_messages_sender_shielded", "sender_id", "created_at", postgresql_where=text("safety <> '{}'")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    match_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("matches.id", ondelete="CASCADE"), nullable=False)
    sender_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    client_msg_id: Mapped[str] = mapped_column(String(MAX_CLIENT_MSG_ID_CHARS), nullable=False)
    created_at: Mapped[datetime] = created_at()
    # contact shielding flags (link, email, phone, handle), sorted; empty outside a match's first 24 hours
    safety: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False, server_default=text("'{}'"))


# history, newest first, paged by keyset:
# WHERE match_id = $1 AND (created_at, id) < ($2, $3) ORDER BY created_at DESC, id DESC
# and the inbox of matches.list (unread count, newest message), index-only thanks to sender_id
Index("ix_messages_match_history", Message.match_id, Message.created_at.desc(), Message.id,
      postgresql_include=["sender_id"])
# moderation.stats: messages today, an index-only range count (migration 0011)
Index("ix_messages_created_at", Message.created_at)


class MatchRead(Base):
    """How far one member of a match has read: a message id and its ``created_at``.

    ``up_to_message_id`` has no foreign key on purpose: the service checks that it
    belongs to the match, and a key would make every message deletion probe this table.
    """

    __tablename__ = "match_reads"

    match_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("matches.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    up_to_message_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    up_to_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False,
                                                 server_default=func.now(), onupdate=func.now())
