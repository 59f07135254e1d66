"""Reporting someone: the report is stored, the reporter blocks them, and moderators hear of it live."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import ValidationFailed
from domain.events.log import EventLog
from domain.models.moderation import MAX_DETAILS_CHARS, REPORT_REASONS
from domain.moderation.feed import report_for_feed
from domain.social import report_store
from domain.social.blocks import block_in
from domain.social.store_common import clock
from domain.text.bidi import refuse_direction_formatting
from domain.transaction import after_commit
from domain.wire.events import ModerationReport
from domain.wire.replies import ReportReply


def clean_details(details: str | None) -> str | None:
    """Details as stored: trimmed, blank means none, at most 1,000 characters, nothing that reorders the text."""
    if details is None or not details.strip():
        return None
    details = details.strip()
    if len(details) > MAX_DETAILS_CHARS:
        raise ValidationFailed.field("details", f"at most {MAX_DETAILS_CHARS} characters")
    if "\x00" in details or any(0xD800 <= ord(ch) <= 0xDFFF for ch in details):
        raise ValidationFailed.field("details", "contains characters that cannot be stored")
    refuse_direction_formatting("details", details)
    return details


async def report(session: AsyncSession, events: EventLog, reporter_id: uuid.UUID, reported_id: uuid.UUID,
                 reason: str, details: str | None) -> ReportReply:
    """Store a report, block the reported person and tell the moderators after commit: ``{"report_id"}``."""
    if reason not in REPORT_REASONS:
        raise ValidationFailed.field("reason", "one of " + ", ".join(REPORT_REASONS))
    details = clean_details(details)
    now = await clock(session)
    await block_in(session, events, reporter_id, reported_id, now)  # not_found for nobody, oneself or deleted
    report_id = await report_store.insert_report(session, reporter_id, reported_id, reason, details, now)
    # the moderators' queue entry (the report plus triage signals), as their snapshot shows it
    entry = await report_for_feed(session, report_id)  # None only if it is no longer open: nothing to show
    if entry is not None:
        data: ModerationReport = {"report": entry}

        async def tell_moderators() -> None:
            await events.to_moderators("moderation.report", data)

        after_commit(session, tell_moderators)
    return {"report_id": str(report_id)}
