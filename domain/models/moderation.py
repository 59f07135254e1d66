"""Reports from users and the actions moderators take."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, created_at, uuid_pk
from domain.wire.enums import ActionKind, Resolution, StoredReportReason

REPORT_REASONS = ("fake_profile", "inappropriate_content", "harassment", "spam", "underage", "other")  # users'
AUTO_FLAG = "auto_flag"  # a report the content filter or contact shielding filed, with no reporter
STORED_REPORT_REASONS = (*REPORT_REASONS, AUTO_FLAG)
REPORT_STATUSES = ("open", "resolved")
RESOLUTIONS = ("dismiss", "warn", "suspend", "ban")
ACTS = ("warn", "suspend", "ban", "reinstate")  # moderation.act (migration 0011 adds reinstate)
ACTIONS = (*RESOLUTIONS, "remove_photo", "remove_prompt", "reinstate",
           "approve_photo", "reject_photo")  # photo review (migration 0010)
MAX_DETAILS_CHARS = 1000
MAX_NOTE_CHARS = 2000
MAX_SUSPENSION_DAYS = 3650


class Report(Base):
    """A user's report of another; open until a moderator resolves it."""

    __tablename__ = "reports"
    __table_args__ = (
        CheckConstraint("reporter_id <> reported_id", name="not_self"),
        CheckConstraint(f"reason IN {STORED_REPORT_REASONS}", name="reason"),
        CheckConstraint(f"reporter_id IS NOT NULL OR reason = '{AUTO_FLAG}'", name="automatic"),
        CheckConstraint(f"status IN {REPORT_STATUSES}", name="status"),
        CheckConstraint(f"resolution IS NULL OR resolution IN {RESOLUTIONS}", name="resolution"),
        CheckConstraint(f"char_length(details) <= {MAX_DETAILS_CHARS}", name="details_length"),
        CheckConstraint(f"char_length(resolution_note) <= {MAX_NOTE_CHARS}", name="resolution_note_length"),
        # resolved_by may be NULL on a resolved report: the moderator's account may be gone
        CheckConstraint("(status = 'open' AND resolved_at IS NULL AND resolution IS NULL) OR "
                        "(status = 'resolved' AND resolved_at IS NOT NULL AND resolution IS NOT NULL)",
                        name="resolved_fields"),
        Index("ix_reports_open_created", "created_at", postgresql_where=text("status = 'open'")),
        Index("ix_reports_reported_created", "reported_id", "created_at"),
        Index("ix_reports_reporter_created", "reporter_id", "created_at"),  # the queue's reporter signals
        # moderation.stats: reports resolved in the last 7 days, index-only (migration 0011)
        Index("ix_reports_resolved_at", "resolved_at", postgresql_include=["created_at"],
              postgresql_where=text("resolved_at IS NOT NULL")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    reporter_id: Mapped[uuid.UUID | None] = mapped_column(  # null: an automatic report (reason auto_flag)
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"))
    reported_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    reason: Mapped[StoredReportReason] = mapped_column(String(32), nullable=False)
    details: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()
    status: Mapped[Literal["open", "resolved"]] = mapped_column(String(16), nullable=False, server_default="open")
    resolved_by: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="SET NULL"))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolution: Mapped[Resolution | None] = mapped_column(String(16))
    resolution_note: Mapped[str | None] = mapped_column(Text)


class ModerationAction(Base):
    """An audit row for every moderator decision, whether or not it came from a report."""

    __tablename__ = "moderation_actions"
    __table_args__ = (
        CheckConstraint(f"action IN {ACTIONS}", name="action"),
        CheckConstraint(f"char_length(note) <= {MAX_NOTE_CHARS}", name="note_length"),
        CheckConstraint(f"days IS NULL OR (action = 'suspend' AND days BETWEEN 1 AND {MAX_SUSPENSION_DAYS})",
                        name="days"),
        Index("ix_moderation_actions_target_created", "target_user_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    moderator_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="SET NULL"))
    target_user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    report_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("reports.id", ondelete="SET NULL"))
    action: Mapped[ActionKind] = mapped_column(String(16), nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    days: Mapped[int | None] = mapped_column(Integer)
    # what the action touched beyond the account, kept as evidence: {"photo_id"} or {"prompt_id", "answer"}
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = created_at()
