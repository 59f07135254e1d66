"""Discovery candidates ranked on the read replica and checked again on the primary before anyone is shown.

With ``DATABASE_READ_URL`` a batch's heavy query (every filter and the rank, ``repository.candidates``)
runs on the replica, which may lag: it may still find eligible someone the viewer blocked, passed or
liked a moment ago on the primary. So every row it returns is checked again on the primary with
``repository.eligible_pairs`` (the same rules for just these pairs: an index lookup per pair) and a row the
primary refuses is never shown. The replica is then asked again without those people, since a
batch should stay full; after ``REPLICA_ROUNDS`` rounds that still found someone stale the primary ranks the
batch itself. It does too when the replica finds nobody at all: the viewer's own profile may not be replayed
yet (a location set a moment ago), and an empty batch would tell them nobody is around. Without a replica
(``read`` is None) this is exactly ``repository.candidates`` on the primary.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from domain.discovery import repository as repo

REPLICA_ROUNDS = 2


async def candidates(primary: AsyncSession, read: AsyncSession | None, viewer_id: uuid.UUID, count: int,
                     sent: Collection[uuid.UUID], now: datetime) -> list[repo.CandidateRow]:
    """``repository.candidates``, ranked on ``read`` when given; every row returned is eligible on ``primary``."""
    if read is None:
        return await repo.candidates(primary, viewer_id, count, sent, now)
    stale: set[uuid.UUID] = set()
    for _ in range(REPLICA_ROUNDS):
        rows = await repo.candidates(read, viewer_id, count, [*sent, *stale], now)
        if not rows:
            break
        refused = await _refused(primary, viewer_id, rows, now)
        if not refused:
            return rows
        stale |= refused
    return await repo.candidates(primary, viewer_id, count, sent, now)


async def _refused(primary: AsyncSession, viewer_id: uuid.UUID, rows: Collection[repo.CandidateRow],
                   now: datetime) -> set[uuid.UUID]:
    """The candidates among ``rows`` the primary does not find eligible for the viewer right now."""
    if not rows:
        return set()
    eligible = await repo.eligible_pairs(primary, [(viewer_id, r.user_id) for r in rows], now)
    return {r.user_id for r in rows} - {user_id for _, user_id in eligible}
