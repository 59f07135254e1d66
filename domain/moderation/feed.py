"""The moderators' queue: open reports with their triage signals, as a snapshot or one entry at a time.

A queue entry is a report (the live ``moderation.report`` fields: ``id, reporter_id,
reported_id, reason, details, created_at, status``) plus ``reported {display_name, status,
suspended_until}`` and ``signals``:

- ``distinct_reporters_7d``: distinct people who reported the reported user in the last 7 days;
- ``reporter_account_age_days``: whole days since the reporter signed up;
- ``reporter_reports_made`` / ``reporter_reports_dismissed``: distinct people the reporter
  has reported, and of those how many reports were dismissed.

Reporting the same person twice counts once: the queue shows one entry per
(reporter, reported) pair, the newest open report of the pair. Automatic reports
(reason ``auto_flag``, no reporter: the content filter and contact shielding) are
one pair per reported person; their reporter signals are null, and they count
no one in ``distinct_reporters_7d``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain.moderation import repository as repo
from domain.moderation.rules import current_status
from domain.wire.moderation import QueueEntry, Signals, SubscribeReply
from domain.wire.scalars import rfc3339

SNAPSHOT_LIMIT = 500


def _entry(row: Any, now: datetime) -> QueueEntry:
    status = current_status(row.reported_status, row.reported_until, now)
    return {
        "id": str(row.id),
        "reporter_id": str(row.reporter_id) if row.reporter_id is not None else None,
        "reported_id": str(row.reported_id),
        "reason": row.reason,
        "details": row.details,
        "created_at": rfc3339(row.created_at),
        "status": "open",
        "reported": {
            "display_name": row.reported_name,
            "status": status,
            "suspended_until": rfc3339(row.reported_until) if status == "suspended" else None,
        },
        "signals": _signals(row, now),
    }


def _signals(row: Any, now: datetime) -> Signals:
    """The triage signals; those about the reporter are null for an automatic report (it has none)."""
    automatic = row.reporter_id is None
    return {
        "distinct_reporters_7d": int(row.distinct_reporters_7d),
        "reporter_account_age_days": None if automatic else max(0, (now - row.reporter_created_at).days),
        "reporter_reports_made": None if automatic else int(row.reporter_reports_made),
        "reporter_reports_dismissed": None if automatic else int(row.reporter_reports_dismissed),
    }


async def snapshot(session: AsyncSession, limit: int = SNAPSHOT_LIMIT) -> SubscribeReply:
    """``{"reports": [entry, …] newest first (at most ``limit``), "counts": {"open", "reported_users"}}``."""
    now = datetime.now(UTC)
    rows = await repo.queue(session, limit)
    open_entries, reported_users = await repo.queue_counts(session)
    return {"reports": [_entry(r, now) for r in rows],
            "counts": {"open": open_entries, "reported_users": reported_users}}


async def report_for_feed(session: AsyncSession, report_id: uuid.UUID) -> QueueEntry | None:
    """The queue entry of one open report (for the live ``moderation.report`` event); None if not open.

    Call it in the transaction that inserted the report and publish
    ``{"report": entry}`` after commit, so live entries carry the same signals as the snapshot.
    """
    rows = await repo.queue(session, 1, report_id)
    return _entry(rows[0], datetime.now(UTC)) if rows else None
