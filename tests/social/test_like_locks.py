"""A like's locks come in one round trip and in the lock order of ``domain/social/locks.py``: the liker's row
first, then the target's and the pair's advisory locks. A like waiting for the liker's row holds no advisory
lock meanwhile (else it could deadlock with an account deletion or a block that took them in that order)."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from domain.social import locks
from tests.support.factory import make_person
from tests.support.locks import until_waiting_for_a_lock
from tests.support.statements import connection_of, statements_on

_ADVISORY_HELD = text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = :pid")


async def _advisory_locks_of(engine: AsyncEngine, pid: int) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(_ADVISORY_HELD, {"pid": pid})).scalar_one())


async def _pid(conn: AsyncConnection) -> int:
    return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def test_the_row_lock_comes_before_the_advisory_locks_and_all_in_one_round_trip(engine: AsyncEngine) -> None:
    liker, target = await make_person(engine), await make_person(engine)
    async with engine.connect() as holder, engine.connect() as liking:
        await holder.execute(text("SELECT 1 FROM users WHERE id = :a FOR NO KEY UPDATE"), {"a": liker.id})
        pid = await _pid(liking)
        session = AsyncSession(bind=liking)
        with statements_on(engine, await connection_of(session)) as sent:
            locking = asyncio.create_task(locks.lock_like(session, liker.id, target.id))
            await until_waiting_for_a_lock(engine, "WITH liker AS MATERIALIZED")
            held_while_waiting = await _advisory_locks_of(engine, pid)
            await holder.rollback()
            locked = await asyncio.wait_for(locking, 5)
        assert held_while_waiting == 0  # waiting for the row, it held no other lock
        assert locked is not None
        row, now = locked
        assert row.status == "active" and now is not None
        assert await _advisory_locks_of(engine, pid) == 2  # the target's (shared) and the pair's
        assert len(sent) == 1, sent  # the three locks and the clock: one statement
        await session.close()


async def test_no_such_liker_takes_no_advisory_lock(engine: AsyncEngine) -> None:
    target = await make_person(engine)
    async with engine.connect() as liking:
        pid = await _pid(liking)
        session = AsyncSession(bind=liking)
        assert await locks.lock_like(session, uuid.UUID(int=1), target.id) is None
        assert await _advisory_locks_of(engine, pid) == 0
        await session.close()
