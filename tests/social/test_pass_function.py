"""A pass is one round trip: ``delete_pass_on`` takes the passer's row lock, then passes with a snapshot taken
after it. The function's SQL is the pass statement the code builds (the migration holds a copy), a pass in
autocommit sends one statement and nothing else, and a like that commits while the pass waits for the lock is
seen: the pass is refused, never both standing. A kept connection found gone costs no failed pass."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from delete_api.database import make_sessionmaker
from domain.errors import Conflict
from domain.raw_statements import RawStatement
from domain.read_lane import ReadLane
from domain.read_sessions import ReadSessions
from domain.social import pass_function, passes
from tests.social.support import scalar
from tests.support.factory import make_person
from tests.support.locks import until_waiting_for_a_lock
from tests.support.migrations import migrations_naming
from tests.support.statements import round_trips

BACKEND = RawStatement("SELECT pg_backend_pid() AS pid")


def _migration_definitions() -> list[str]:
    """Every ``DEFINITION`` of the pass function the migrations hold, oldest first."""
    return [module.DEFINITION for module in migrations_naming(pass_function.NAME) if hasattr(module, "DEFINITION")]


def test_the_newest_migration_creates_the_function_the_code_builds() -> None:
    definitions = _migration_definitions()
    assert definitions, "no migration creates the pass function"
    assert definitions[-1] == pass_function.definition(), (
        "the pass statement changed: add a migration that runs domain.social.pass_function.definition()")


async def test_the_database_runs_the_statement_the_code_builds(engine: AsyncEngine) -> None:
    body = await scalar(engine, "SELECT prosrc FROM pg_proc WHERE proname = :name", name=pass_function.NAME)
    assert body == pass_function.function_body()


def test_the_body_locks_before_it_passes_in_statements_of_their_own() -> None:
    body = pass_function.function_body()
    lock, rest = body.split("FOR NO KEY UPDATE;", 1)
    assert "PERFORM" in lock and "RETURN QUERY" in rest and "INSERT INTO passes" in rest
    assert "'deleted'" in rest and "$4" not in body  # written-in values are literals, the arguments $1-$3


async def test_a_pass_run_alone_is_one_round_trip(engine: AsyncEngine) -> None:
    me, other = await make_person(engine), await make_person(engine)
    lane = ReadLane(make_sessionmaker(engine), width=1)
    reads = ReadSessions(make_sessionmaker(engine), lane=lane)
    try:
        async with reads.primary_read() as session:  # the lane's connection leased before counting
            await session.execute(text("SELECT 1"))
        with round_trips(engine) as seen:
            reply = await passes.pass_on(reads.fetch_alone, me.id, other.id)
        assert seen == Counter({"SELECT": 1}), seen  # no BEGIN, no separate lock, no COMMIT
    finally:
        await lane.close()
    assert reply["expires_at"]
    assert await scalar(engine, "SELECT count(*) FROM passes WHERE passer_id = :a AND passee_id = :b "
                                "AND expires_at > now() + interval '29 days'", a=me.id, b=other.id) == 1


@pytest.mark.parametrize("commits", [True, False], ids=["like-commits", "like-rolls-back"])
async def test_a_like_committed_while_the_pass_waits_for_the_lock_is_seen(engine: AsyncEngine,
                                                                           commits: bool) -> None:
    """The like holds the passer's row lock (as ``likes.like`` does) when the pass arrives; once it commits the
    pass must see it and write nothing. Rolled back, the pass goes through."""
    me, other = await make_person(engine), await make_person(engine)
    lane = ReadLane(make_sessionmaker(engine), width=1)
    reads = ReadSessions(make_sessionmaker(engine), lane=lane)

    async def pass_on() -> object:
        return await passes.pass_on(reads.fetch_alone, me.id, other.id)

    try:
        async with engine.connect() as liker:
            await liker.execute(text("SELECT 1 FROM users WHERE id = :a FOR NO KEY UPDATE"), {"a": me.id})
            await liker.execute(text("INSERT INTO likes (id, liker_id, likee_id, comment) VALUES (:id, :a, :b, 'hi')"),
                                {"id": uuid.uuid4(), "a": me.id, "b": other.id})
            passing = asyncio.create_task(pass_on())
            await until_waiting_for_a_lock(engine, "SELECT * FROM delete_pass_on")
            await (liker.commit() if commits else liker.rollback())
        outcome = await asyncio.gather(passing, return_exceptions=True)
    finally:
        await lane.close()
    stood = await scalar(engine, "SELECT count(*) FROM passes WHERE passer_id = :a", a=me.id)
    if commits:
        assert isinstance(outcome[0], Conflict) and stood == 0, outcome
    else:
        assert isinstance(outcome[0], dict) and stood == 1, outcome


async def test_a_pass_on_a_kept_connection_postgresql_dropped_still_goes_through(own_engine: AsyncEngine,
                                                                                engine: AsyncEngine) -> None:
    """The lane's kept connection was terminated by the server (a restart, a failover): the pass runs once more
    on a new connection instead of failing (a pass is safe to repeat: passing again restarts the 30 days)."""
    me, other = await make_person(engine), await make_person(engine)
    lane = ReadLane(make_sessionmaker(own_engine), width=1)
    reads = ReadSessions(make_sessionmaker(own_engine), lane=lane)
    try:
        first = (await reads.fetch_alone(BACKEND, {}))[0].pid
        async with engine.begin() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        await asyncio.sleep(0.1)
        reply = await passes.pass_on(reads.fetch_alone, me.id, other.id)
        assert (await reads.fetch_alone(BACKEND, {}))[0].pid != first
    finally:
        await lane.close()
    assert reply["expires_at"] and own_engine.sync_engine.pool.checkedout() == 0
    assert await scalar(engine, "SELECT count(*) FROM passes WHERE passer_id = :a AND passee_id = :b",
                        a=me.id, b=other.id) == 1
