"""Keeping ``users.rank_bound`` tight: the scheduled job that lowers bounds time has made loose.

``rank_bound`` (migration 0012) is a person's completeness + recency + newness as
of an hour before their row was last written. Recency and newness only fall as
time passes, so the bound stays an upper bound and discovery stays exact; but a
person who was active a month ago still carries that day's 10 recency points, so
their row sits in a higher tier than it needs to and batches read it for nothing.
This job rewrites the bound of every discoverable person whose bound is above
what the trigger would set now (the trigger does the arithmetic), in batches,
each row locked with ``FOR UPDATE SKIP LOCKED`` so several nodes can run it at once.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

BATCH = 5_000

_TIGHTEN = text("""
UPDATE users SET rank_bound = rank_bound WHERE id IN (
    SELECT id FROM users
    WHERE role = 'user' AND status IN ('active', 'suspended') AND lat IS NOT NULL
      AND rank_bound > discovery_static_points(photo_count, prompt_count, bio, last_active_at, created_at,
                                               now() - interval '1 hour')
    LIMIT :limit FOR UPDATE SKIP LOCKED)
""")


async def tighten(session: AsyncSession, limit: int = BATCH) -> int:
    """Lower up to ``limit`` loose bounds in the caller's transaction; return how many."""
    result = await session.execute(_TIGHTEN, {"limit": limit})
    return int(getattr(result, "rowcount", 0) or 0)
