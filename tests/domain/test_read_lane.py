"""Pure reads on the primary run on kept autocommit connections: no BEGIN or COMMIT, the same answers, and a
read never waits for the lane (when every kept connection is busy it gets a unit of work)."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from delete_api.database import make_sessionmaker
from domain.raw_statements import RawStatement
from domain.read_lane import ReadLane
from domain.read_sessions import ReadSessions
from domain.transaction import after_commit
from tests.support.statements import round_trips


async def test_reads_in_a_row_run_without_begin_or_commit(own_engine: AsyncEngine) -> None:
    lane = ReadLane(make_sessionmaker(own_engine), width=2)
    reads = ReadSessions(make_sessionmaker(own_engine), lane=lane)
    try:
        async with reads.primary_read() as session:  # the first read leases the connection
            assert (await session.execute(text("SELECT 1"))).scalar() == 1
        with round_trips(own_engine) as seen:
            for _ in range(5):
                async with reads.lagging() as session:
                    assert (await session.execute(text("SELECT 2"))).scalar() == 2
                    assert (await session.execute(text("SELECT 3"))).scalar() == 3
        assert seen == Counter({"SELECT": 10}), seen  # no BEGIN, no COMMIT: one round trip per statement
        assert lane.overflows == 0
    finally:
        await lane.close()
    assert own_engine.sync_engine.pool.checkedout() == 0


async def test_a_read_never_waits_for_the_lane(own_engine: AsyncEngine) -> None:
    """Three reads at once on a lane of two: the third runs in a unit of work at once, and all three answer."""
    lane = ReadLane(make_sessionmaker(own_engine), width=2)
    reads = ReadSessions(make_sessionmaker(own_engine), lane=lane)
    inside = asyncio.Event()
    release = asyncio.Event()
    answered: list[int] = []

    async def read(k: int) -> None:
        async with reads.primary_read() as session:
            answered.append(int((await session.execute(text("SELECT CAST(:k AS int)"), {"k": k})).scalar_one()))
            if len(answered) == 3:
                inside.set()
            await release.wait()

    try:
        tasks = [asyncio.create_task(read(k)) for k in range(3)]
        await asyncio.wait_for(inside.wait(), 5)  # all three are inside their sessions at the same time
        assert sorted(answered) == [0, 1, 2] and lane.overflows == 1
        release.set()
        await asyncio.gather(*tasks)
    finally:
        await lane.close()


async def test_a_failed_read_leaves_the_lane_usable_and_after_commit_runs_only_on_success(
        own_engine: AsyncEngine) -> None:
    lane = ReadLane(make_sessionmaker(own_engine), width=1)
    reads = ReadSessions(make_sessionmaker(own_engine), lane=lane)
    ran: list[str] = []

    async def note(what: str) -> None:
        ran.append(what)

    try:
        with pytest.raises(Exception):  # noqa: B017 - the driver's own error, whatever its class
            async with reads.primary_read() as session:
                after_commit(session, lambda: note("failed read"))
                await session.execute(text("SELECT 1 / 0"))
        async with reads.primary_read() as session:
            after_commit(session, lambda: note("read"))
            assert (await session.execute(text("SELECT 1"))).scalar() == 1
        assert ran == ["read"] and lane.overflows == 0
    finally:
        await lane.close()


async def test_a_read_sees_what_was_committed_a_moment_before(own_engine: AsyncEngine, engine: AsyncEngine) -> None:
    lane = ReadLane(make_sessionmaker(own_engine), width=1)
    reads = ReadSessions(make_sessionmaker(own_engine), lane=lane)
    email = f"lane-{uuid.uuid4().hex[:8]}@example.com"
    count = text("SELECT count(*) FROM users WHERE email = :email")
    try:
        async with reads.primary_read() as session:
            assert (await session.execute(count, {"email": email})).scalar() == 0
        async with engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO users (id, email, password_hash, display_name, birthdate, status, role) "
                "VALUES (:id, :email, 'x', 'Lane', '1990-01-01', 'active', 'user')"),
                {"id": uuid.uuid4(), "email": email})
        async with reads.primary_read() as session:
            assert (await session.execute(count, {"email": email})).scalar() == 1
    finally:
        await lane.close()
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM users WHERE email = :email"), {"email": email})


async def test_a_statement_run_alone_never_waits_for_the_lane_either(own_engine: AsyncEngine) -> None:
    """With the lane's one kept connection busy, a statement run alone (a pass) runs in a unit of work at once."""
    lane = ReadLane(make_sessionmaker(own_engine), width=1)
    reads = ReadSessions(make_sessionmaker(own_engine), lane=lane)
    statement = RawStatement("SELECT CAST(:k AS int) AS k")
    try:
        async with reads.primary_read() as busy:
            await busy.execute(text("SELECT 1"))
            rows = await asyncio.wait_for(reads.fetch_alone(statement, {"k": 7}), 5)
            assert [r.k for r in rows] == [7] and lane.overflows == 1
        assert [r.k for r in await reads.fetch_alone(statement, {"k": 8})] == [8] and lane.overflows == 1
    finally:
        await lane.close()
    assert own_engine.sync_engine.pool.checkedout() == 0
