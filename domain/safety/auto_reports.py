"""Automatic reports: filed by the content filter or contact shielding, with no reporter (reason ``auto_flag``).

The report reaches the moderators' queue like a user's (``moderation.report`` after commit, with the same
queue entry as the snapshot). ``details`` names the rule and what it found.
"""

from __future__ import annotations

import uuid

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.events.log import EventLog
from domain.models import Report
from domain.models.moderation import AUTO_FLAG, MAX_DETAILS_CHARS
from domain.moderation.feed import report_for_feed
from domain.transaction import after_commit
from domain.wire.enums import ReportReason, StoredReportReason
from domain.wire.events import ModerationReport

# what the user is told (moderation.warning, account.suspended) when a moderator acts on an automatic report
TOLD_FOR_AUTO_FLAG: ReportReason = "inappropriate_content"


def told_reason(reason: StoredReportReason) -> ReportReason:
    """The category a user is told for a report: an automatic report's is ``inappropriate_content``."""
    if reason == "auto_flag":
        return TOLD_FOR_AUTO_FLAG
    return reason


async def file_auto_report(session: AsyncSession, events: EventLog, reported_id: uuid.UUID, details: str) -> uuid.UUID:
    """Store an automatic report about ``reported_id`` and tell the moderators after commit; its id."""
    if len(details) > MAX_DETAILS_CHARS:
        details = details[:MAX_DETAILS_CHARS - 1] + "\u2026"
    stmt = (insert(Report).values(id=uuid.uuid4(), reporter_id=None, reported_id=reported_id, reason=AUTO_FLAG,
                                  details=details)
            .returning(Report.id))
    report_id: uuid.UUID = (await session.execute(stmt)).scalar_one()
    entry = await report_for_feed(session, report_id)
    if entry is not None:
        data: ModerationReport = {"report": entry}

        async def tell_moderators() -> None:
            await events.to_moderators("moderation.report", data)

        after_commit(session, tell_moderators)
    return report_id
