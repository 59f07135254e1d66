"""Waiting until a statement is blocked on a lock another test transaction holds (``pg_stat_activity``)."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_WAITING = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE :q")


async def until_waiting_for_a_lock(engine: AsyncEngine, query_start: str, timeout_s: float = 4.0) -> None:
    """Return once a backend runs a statement starting with ``query_start`` and waits for a lock."""
    async with engine.connect() as conn:
        for _ in range(int(timeout_s / 0.02)):
            waiting = (await conn.execute(_WAITING, {"q": query_start + "%"})).scalar_one()
            await conn.rollback()  # pg_stat_activity is read once per transaction
            if waiting:
                return
            await asyncio.sleep(0.02)
    raise AssertionError(f"no statement starting {query_start!r} ever waited for a lock")
