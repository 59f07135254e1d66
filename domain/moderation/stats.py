"""``moderation.stats``: the moderators' live panel, computed from indexed ranges (no full-table scan).

"Today" starts at 00:00 UTC. Each figure is one index range (migration 0011 adds the indexes):

- signups today: ``users.created_at >= midnight`` (``ix_users_created_at``);
- matches today: ``matches.matched_at >= midnight`` (``ix_matches_matched_at``), whatever their state now;
- messages today: ``messages.created_at >= midnight`` (``ix_messages_created_at``, index-only);
- open reports: the open queue's entries, one per (reporter, reported) pair, read through the partial index
  ``ix_reports_open_created``: the same figure as ``moderation.subscribe``'s ``counts.open``;
- median resolution over 7 days: ``percentile_cont(0.5)`` of ``resolved_at - created_at`` over reports with
  ``resolved_at`` in the last 7 days (``ix_reports_resolved_at``, which includes ``created_at``: index-only);
- photos pending: ``photo_feed.pending_count``, an index-only count of the partial index
  ``ix_photos_pending_created`` (migration 0010): the same figure as the photo queue's ``counts.pending``.

The cost of a request grows with one day's activity (and one week's resolutions), never with the size of
the tables. People online come from presence in Redis (``count_online``), not from PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.moderation import photo_feed
from domain.moderation.access import require_moderator
from domain.wire.moderation import StatsReply

MEDIAN_WINDOW = timedelta(days=7)

_STATS_SQL = """
SELECT
  (SELECT count(*) FROM users WHERE created_at >= :day) AS signups_today,
  (SELECT count(*) FROM matches WHERE matched_at >= :day) AS matches_today,
  (SELECT count(*) FROM messages WHERE created_at >= :day) AS messages_today,
  (SELECT count(*) FROM (SELECT DISTINCT reporter_id, reported_id FROM reports WHERE status = 'open') pairs)
    AS open_reports,
  (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM resolved_at - created_at))
     FROM reports WHERE resolved_at >= :week_start) AS median_resolution_s_7d
"""

def day_start(now: datetime) -> datetime:
    """00:00 UTC of ``now``'s day: where "today" starts."""
    return datetime.combine(now.astimezone(UTC).date(), time(0), tzinfo=UTC)


async def stats(session: AsyncSession, moderator_id: uuid.UUID,
                count_online: Callable[[], Awaitable[int | None]], now: datetime | None = None,
                read: AsyncSession | None = None) -> StatsReply:
    """The panel's figures; ``count_online`` counts the people with a live socket on any node. The counts
    are read on ``read`` (the read replica, if any), the moderator's role on the primary ``session``."""
    await require_moderator(session, moderator_id)
    now = now or datetime.now(UTC)
    counts = read or session
    row = (await counts.execute(text(_STATS_SQL), {"day": day_start(now), "week_start": now - MEDIAN_WINDOW})).one()
    pending = await photo_feed.pending_count(counts)
    median = row.median_resolution_s_7d
    return {
        "online_users": await count_online(),
        "signups_today": int(row.signups_today),
        "matches_today": int(row.matches_today),
        "messages_today": int(row.messages_today),
        "open_reports": int(row.open_reports),
        "photos_pending": pending,
        "median_resolution_s_7d": round(float(median), 1) if median is not None else None,
    }
