"""Sockets that connect, resume or sync together share one query: answers stay each socket's own."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from delete_api.database import make_sessionmaker
from domain.auth.access_check import AccessChecker
from domain.auth.tokens import issue
from domain.batch_connection import BatchConnection
from domain.errors import AccountSuspended, Unauthorized
from domain.events.catchup import CatchUpReader
from domain.events.log import EventLog
from domain.transaction import unit_of_work
from tests.support.factory import TOKEN_CONFIG, make_person
from tests.support.statements import round_trips


class _Quiet:
    async def publish(self, channel: str, message: bytes) -> None:
        return None

    async def publish_many(self, messages: list[tuple[str, bytes]]) -> None:
        return None


@pytest.fixture
async def batch(engine: AsyncEngine) -> AsyncIterator[BatchConnection]:
    """The connection the readers keep between batches, returned at the end."""
    connection = BatchConnection(engine)
    yield connection
    await connection.close()


async def _append(engine: AsyncEngine, user: uuid.UUID, count: int) -> None:
    log = EventLog(_Quiet(), "coalesce:")
    async with unit_of_work(make_sessionmaker(engine)) as session:
        for n in range(count):
            await log.append(session, user, "test.event", {"n": n})


async def test_fifty_concurrent_resumes_read_positions_and_missed_events_in_one_query(
        engine: AsyncEngine, batch: BatchConnection) -> None:
    people = [await make_person(engine, name=f"R{k}", photos=0, answers={}) for k in range(50)]
    for k, person in enumerate(people):
        await _append(engine, person.id, k % 7)  # 0..6 events each; some users have none at all
    reader = CatchUpReader(batch)
    with round_trips(engine) as statements:
        # each resumes from a different place: the start, the middle, the head, beyond it, or not at all (None)
        asks = [(p.id, [0, 1, 3, 6, 10**30, None][k % 6]) for k, p in enumerate(people)]  # any whole number
        answers = await asyncio.gather(*(reader.position(user, after, 4) for user, after in asks))
    assert statements["SELECT"] == 1
    assert reader.queries == 1
    for k, ((_, after), answer) in enumerate(zip(asks, answers, strict=True)):
        head = k % 7
        assert answer.head == head
        wanted = [] if after is None else list(range(min(after, head) + 1, head + 1))[:4]
        assert [seq for seq, _ in answer.events] == wanted
        for seq, frame in answer.events:
            assert frame.startswith(f'{{"type":"test.event","seq":{seq},')


async def test_replays_and_gap_fills_of_many_sockets_share_a_query_and_respect_their_bounds(
        engine: AsyncEngine, batch: BatchConnection) -> None:
    a, b = await make_person(engine, name="Gap", photos=0, answers={}), await make_person(engine, name="Fill",
                                                                                          photos=0, answers={})
    await _append(engine, a.id, 10)
    await _append(engine, b.id, 3)
    reader = CatchUpReader(batch)
    with round_trips(engine) as statements:
        gap, page, rest, none = await asyncio.gather(reader.replay(a.id, 2, 500, up_to=5), reader.replay(a.id, 0, 4),
                                                     reader.replay(b.id, 1, 500), reader.replay(b.id, 3, 500))
    assert statements["SELECT"] == 1
    assert [seq for seq, _ in gap] == [3, 4, 5]
    assert [seq for seq, _ in page] == [1, 2, 3, 4]
    assert [seq for seq, _ in rest] == [2, 3]
    assert none == []


async def test_a_query_failure_fails_every_socket_of_its_batch_and_the_next_batch_runs(
        engine: AsyncEngine, batch: BatchConnection) -> None:
    person = await make_person(engine, name="Err", photos=0, answers={})
    reader = CatchUpReader(batch)
    bad = asyncio.gather(*(reader.position(person.id, 0, -1) for _ in range(3)))  # a negative LIMIT: refused
    with pytest.raises(Exception):  # noqa: B017 - the driver's own error, whatever its class
        await bad
    assert (await reader.position(person.id, 0, 1)).head == 0


async def test_batched_token_checks_keep_every_rule_of_authenticate(
        engine: AsyncEngine, batch: BatchConnection) -> None:
    live = await make_person(engine, name="Live", photos=0, answers={})
    moderator = await make_person(engine, name="Mod", photos=0, answers={}, role="moderator")
    banned = await make_person(engine, name="Banned", photos=0, answers={}, status="banned")
    revoked = await make_person(engine, name="Revoked", photos=0, answers={})
    served = await make_person(engine, name="Served", photos=0, answers={}, status="suspended")
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE token_families SET revoked_at = now() WHERE user_id = :u"), {"u": revoked.id})
        await conn.execute(text("UPDATE users SET suspended_until = :t WHERE id = :u"),
                           {"t": datetime.now(UTC) - timedelta(minutes=1), "u": served.id})  # suspension over
    stranger, _ = issue(TOKEN_CONFIG, "access", live.id, uuid.uuid4())  # a family that does not exist
    checker = AccessChecker(batch, TOKEN_CONFIG)
    tokens = [live.token, moderator.token, banned.token, revoked.token, served.token, stranger, "not-a-jwt"]
    with round_trips(engine) as statements:
        results = await asyncio.gather(*(checker.authenticate(t) for t in tokens), return_exceptions=True)
    assert statements["SELECT"] == 1  # the malformed token never reached the database
    ok_live, ok_mod, is_banned, is_revoked, ok_served, is_stranger, is_garbage = results
    assert not isinstance(ok_live, BaseException) and ok_live.user_id == live.id and ok_live.role == "user"
    assert not isinstance(ok_mod, BaseException) and ok_mod.role == "moderator"
    assert isinstance(is_banned, AccountSuspended)
    assert isinstance(is_revoked, Unauthorized) and "signed out" in is_revoked.message
    assert not isinstance(ok_served, BaseException) and ok_served.user_id == served.id
    assert isinstance(is_stranger, Unauthorized)
    assert isinstance(is_garbage, Unauthorized)
