"""Single-use link tokens of an account: email verification and password reset (docs/accounts.md)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Index, LargeBinary, String, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, created_at, uuid_pk

Purpose = Literal["verify_email", "reset_password"]
PURPOSES = ("verify_email", "reset_password")


class AccountToken(Base):
    """A token mailed as a link, stored only as the SHA-256 of the token string.

    ``used_at`` is set when the token is used or superseded (a newer verification mail, a later reset or
    password change): from then on it never works again. ``requested`` marks tokens a person asked for
    (``email/resend``, ``password/forgot``): those count toward the hourly limits, the mail signup sends
    does not.
    """

    __tablename__ = "account_tokens"
    __table_args__ = (
        CheckConstraint(f"purpose IN {PURPOSES}", name="purpose"),
        # the hourly limits count a user's recent tokens of one purpose; invalidation finds the unused ones
        Index("ix_account_tokens_user_purpose_created", "user_id", "purpose", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"),
                                               nullable=False)
    purpose: Mapped[Purpose] = mapped_column(String(16), nullable=False)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False, unique=True)
    requested: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    created_at: Mapped[datetime] = created_at()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
