"""The connection coalesced reads keep during a storm: one round trip per batch, fresh data, back to the pool
when idle, and a PostgreSQL that dropped it costs no failed read."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import greenlet
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.batch_connection import BatchConnection
from domain.raw_statements import RawStatement
from tests.support.statements import round_trips

NOW = RawStatement("SELECT pg_backend_pid() AS pid, clock_timestamp() AS at")
SEEN = RawStatement("SELECT count(*) AS n FROM users WHERE email = :email")


async def test_batches_in_a_row_share_one_connection_and_one_round_trip_each(own_engine: AsyncEngine) -> None:
    reads = BatchConnection(own_engine, linger_s=30)
    try:
        with round_trips(own_engine) as heard:
            pids = {(await reads.fetch(NOW, {}))[0].pid for _ in range(20)}
            assert len(pids) == 1 and reads.leases == 1
            assert own_engine.sync_engine.pool.checkedout() == 1  # kept between batches
            await reads.close()
        # the lease's BEGIN (the pool's ping) and ROLLBACK (the switch to autocommit), then one statement per batch
        assert heard == Counter({"SELECT": 20, "begin": 1, "rollback": 1})
    finally:
        await reads.close()
    assert own_engine.sync_engine.pool.checkedout() == 0


async def test_a_kept_connections_statements_switch_to_no_greenlet(own_engine: AsyncEngine) -> None:
    """Once leased, a batch's statement reaches the driver with no hop through a greenlet (on Python 3.11 each new
    greenlet maps and unmaps a 16-KiB frame stack: about 2 % of a busy node's CPU when every command paid one)."""
    reads = BatchConnection(own_engine, linger_s=30)
    switches: list[str] = []
    try:
        await reads.fetch(NOW, {})  # the lease itself goes through SQLAlchemy's greenlets
        previous = greenlet.settrace(lambda event, _args: switches.append(event))
        try:
            for _ in range(5):
                await reads.fetch(NOW, {})
        finally:
            greenlet.settrace(previous)
    finally:
        await reads.close()
    assert switches == []


async def test_each_batch_sees_what_was_committed_before_it(own_engine: AsyncEngine) -> None:
    """Autocommit: a kept connection holds no snapshot, so a login revoked a moment ago is seen as revoked."""
    reads = BatchConnection(own_engine, linger_s=30)
    email = f"batch-{uuid.uuid4().hex[:8]}@example.com"
    try:
        assert (await reads.fetch(SEEN, {"email": email}))[0].n == 0
        async with own_engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO users (id, email, password_hash, display_name, birthdate, status, role) "
                "VALUES (:id, :email, 'x', 'Batch', '1990-01-01', 'active', 'user')"),
                {"id": uuid.uuid4(), "email": email})
        assert (await reads.fetch(SEEN, {"email": email}))[0].n == 1
    finally:
        await reads.close()
        async with own_engine.begin() as conn:
            await conn.execute(text("DELETE FROM users WHERE email = :email"), {"email": email})


async def test_an_idle_connection_goes_back_to_the_pool(own_engine: AsyncEngine) -> None:
    reads = BatchConnection(own_engine, linger_s=0.2)
    await reads.fetch(NOW, {})
    await asyncio.sleep(0.05)
    await reads.fetch(NOW, {})  # used again: the linger time starts over
    await asyncio.sleep(0.15)
    assert reads.holding
    await asyncio.sleep(0.3)
    assert not reads.holding and own_engine.sync_engine.pool.checkedout() == 0
    await reads.fetch(NOW, {})  # and the next batch checks one out again
    assert reads.leases == 2
    await reads.close()


async def test_a_connection_postgresql_dropped_costs_no_failed_read(own_engine: AsyncEngine,
                                                                   engine: AsyncEngine) -> None:
    """The kept connection is terminated by the server (a restart, a failover): the next batch still answers,
    on a new connection."""
    reads = BatchConnection(own_engine, linger_s=30)
    try:
        first = (await reads.fetch(NOW, {}))[0].pid
        async with engine.begin() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        await asyncio.sleep(0.1)
        second = (await reads.fetch(NOW, {}))[0].pid
        assert second != first and reads.leases == 2
    finally:
        await reads.close()
    assert own_engine.sync_engine.pool.checkedout() == 0


async def test_a_failing_statement_fails_its_batch_only(own_engine: AsyncEngine) -> None:
    """A statement PostgreSQL refuses raises to its batch; the connection stays usable (no aborted transaction)."""
    reads = BatchConnection(own_engine, linger_s=30)
    try:
        with pytest.raises(Exception):  # noqa: B017 - the driver's own error, whatever its class
            await reads.fetch(RawStatement("SELECT 1 / 0"), {})
        assert (await reads.fetch(NOW, {}))[0].pid > 0 and reads.leases == 1
    finally:
        await reads.close()
