"""The mail outbox: one row per mail, written in the transaction that causes it (docs/mail.md)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Index, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, created_at, uuid_pk

MAX_ADDRESS_CHARS = 320  # RFC 3696 erratum: 64 + 1 + 255
MAX_ERROR_CHARS = 200


class MailOutbox(Base):
    """A mail to send: pending while ``sent_at`` and ``failed_at`` are both null.

    ``due_at`` is when any node may take the row next: the retry time after a failure, or the end of the
    lease of the node that claimed it (``claim``, that node's token for one batch). The bodies may hold
    single-use links, so they are erased when the row is sent or given up.
    """

    __tablename__ = "mail_outbox"
    __table_args__ = (
        CheckConstraint("sent_at IS NULL OR failed_at IS NULL", name="one_outcome"),
        Index("ix_mail_outbox_due", "due_at", postgresql_where="sent_at IS NULL AND failed_at IS NULL"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    recipient: Mapped[str] = mapped_column(String(MAX_ADDRESS_CHARS), nullable=False)
    subject: Mapped[str] = mapped_column(Text, nullable=False)
    text_body: Mapped[str | None] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    claim: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(MAX_ERROR_CHARS))
