"""The archive job: active matches with no message for 7 days become archived.

Safe on several nodes at once: each batch locks its rows with ``FOR UPDATE SKIP
LOCKED``, so two nodes never archive the same match and a match a message is
being sent into right now is left for the next run.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from domain.events.log import EventLog
from domain.social.matches import archive_idle

BATCH = 500


async def archive_idle_matches(session: AsyncSession, events: EventLog, now: datetime, limit: int = BATCH) -> int:
    """Archive up to ``limit`` idle matches in the caller's transaction and tell both members; return how many."""
    return await archive_idle(session, events, now, limit)
