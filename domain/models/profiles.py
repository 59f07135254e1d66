"""Profile content beyond the account row: prompt answers, quiz answers, traits and badges."""

from __future__ import annotations

import uuid
from datetime import datetime

from pgvector.sqlalchemy import Vector
from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, SmallInteger, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from domain.compatibility.traits import TRAIT_KEYS
from domain.models.base import Base, created_at

# Order matters: it is the order of the dimensions of ``user_traits.traits``.
TRAITS = TRAIT_KEYS  # the quiz order is defined once, in domain/compatibility/traits.py
MAX_ANSWER_CHARS = 300


class Prompt(Base):
    """A prompt of the catalogue, e.g. ``two_truths``; the slug is the id clients send back."""

    __tablename__ = "prompts"
    __table_args__ = (CheckConstraint("id ~ '^[a-z0-9_]{1,48}$'", name="id_slug"),)

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    text: Mapped[str] = mapped_column(String(200), nullable=False)
    position: Mapped[int] = mapped_column(SmallInteger, nullable=False)  # display order in the catalogue
    created_at: Mapped[datetime] = created_at()


class PromptAnswer(Base):
    """A user's answer to one prompt; at most three per user (enforced by the service)."""

    __tablename__ = "prompt_answers"
    __table_args__ = (
        CheckConstraint(f"char_length(answer) BETWEEN 1 AND {MAX_ANSWER_CHARS}", name="answer_length"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    # no cascade: retiring a prompt must not silently delete what people wrote
    prompt_id: Mapped[str] = mapped_column(String(48), ForeignKey("prompts.id"), primary_key=True)
    answer: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False,
                                                 server_default=func.now(), onupdate=func.now())


class QuizResponse(Base):
    """The compatibility quiz as submitted: ``{trait: 1..5}`` for the six traits."""

    __tablename__ = "quiz_responses"
    __table_args__ = (CheckConstraint("jsonb_typeof(answers) = 'object'", name="answers_object"),)

    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    answers: Mapped[dict[str, int]] = mapped_column(JSONB, nullable=False)
    submitted_at: Mapped[datetime] = created_at()


class UserTrait(Base):
    """A user's six trait scores as a vector, in ``TRAITS`` order, for nearest-neighbour discovery.

    Compatibility is 100 - L1/24 x 100, so ordering by L1 distance (``<+>``,
    ``Vector.comparator.l1_distance``) is ordering by compatibility, and the HNSW
    index with ``vector_l1_ops`` serves it.
    """

    __tablename__ = "user_traits"
    __table_args__ = (
        Index("ix_user_traits_traits_l1", "traits", postgresql_using="hnsw",
              postgresql_ops={"traits": "vector_l1_ops"}),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    traits: Mapped[list[float]] = mapped_column(Vector(len(TRAITS)), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False,
                                                 server_default=func.now(), onupdate=func.now())


class UserBadge(Base):
    """A badge earned from a clear-cut quiz answer (1-2 or 4-5), e.g. ``planner``."""

    __tablename__ = "user_badges"

    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    badge: Mapped[str] = mapped_column(String(48), primary_key=True)
    awarded_at: Mapped[datetime] = created_at()

