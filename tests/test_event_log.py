"""Several users' durable events written in one round trip keep every user's stream gap-free and in order."""

from __future__ import annotations

import asyncio
import json
import uuid

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from delete_api.database import make_sessionmaker
from domain.events import wire
from domain.transaction import unit_of_work
from tests.support.events import event_log
from tests.support.factory import make_person


async def _stream(engine: AsyncEngine, user_id: uuid.UUID) -> list[tuple[int, str, int]]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT seq, type, payload FROM user_events WHERE user_id = :u ORDER BY seq"),
                                  {"u": user_id})
        return [(seq, kind, payload["n"]) for seq, kind, payload in rows]


async def _next(pubsub: PubSub, timeout_s: float) -> dict[str, object] | None:
    """The next published message (subscription confirmations skipped), or None after ``timeout_s``."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        message = await pubsub.get_message(timeout=left)
        if message is not None and message["type"] == "message":
            return message
    return None


async def test_concurrent_pair_events_give_both_users_gap_free_streams(engine: AsyncEngine, redis_url: str) -> None:
    """Like a match or a message: one event to each of two users per transaction, 30 transactions at once."""
    a, b = await make_person(engine, name="Ada"), await make_person(engine, name="Ben")
    low, high = sorted((a.id, b.id), key=lambda u: u.bytes)
    sessions = make_sessionmaker(engine)
    async with event_log(redis_url, f"t{uuid.uuid4().hex[:6]}:") as log:

        async def pair(n: int) -> list[int]:
            async with unit_of_work(sessions) as session:
                return await log.append_many(session, [(low, "test.pair", {"n": n}), (high, "test.pair", {"n": n})])

        results = await asyncio.gather(*(pair(n) for n in range(30)))
    for user in (low, high):
        stream = await _stream(engine, user)
        assert [seq for seq, _, _ in stream] == list(range(1, 31))  # no gap, no duplicate, no deadlock
        assert sorted(n for _, _, n in stream) == list(range(30))
    # each call got each user's own seq of that event
    for (seq_low, seq_high), n in zip(results, range(30), strict=True):
        assert (seq_low, "test.pair", n) in await _stream(engine, low)
        assert (seq_high, "test.pair", n) in await _stream(engine, high)


async def test_pair_events_are_published_after_commit_and_same_user_events_stay_in_order(
        engine: AsyncEngine, redis_url: str) -> None:
    a, b = await make_person(engine, name="Ada"), await make_person(engine, name="Ben")
    prefix = f"t{uuid.uuid4().hex[:6]}:"
    redis = aioredis.Redis.from_url(redis_url)
    pubsub = redis.pubsub()
    await pubsub.subscribe(wire.user_channel(prefix, a.id), wire.user_channel(prefix, b.id))
    sessions = make_sessionmaker(engine)
    try:
        async with event_log(redis_url, prefix) as log:
            async with unit_of_work(sessions) as session:
                seqs = await log.append_many(session, [(a.id, "test.pair", {"n": 1}), (b.id, "test.pair", {"n": 1})])
                assert await _next(pubsub, 0.3) is None  # not before the commit
            async with unit_of_work(sessions) as session:  # two for one user: one after the other, in order
                again = await log.append_many(session, [(a.id, "test.pair", {"n": 2}), (a.id, "test.pair", {"n": 3})])
        assert seqs == [1, 1] and again == [2, 3]
        got: dict[str, list[int]] = {}
        while sum(map(len, got.values())) < 4:
            message = await _next(pubsub, 5)
            assert message is not None, got
            kind, seq, payload = wire.decode(message["data"])  # type: ignore[arg-type]
            assert kind == "D" and json.loads(payload)["seq"] == seq
            got.setdefault(message["channel"].decode(), []).append(seq)  # type: ignore[attr-defined]
        assert got == {wire.user_channel(prefix, a.id): [1, 2, 3], wire.user_channel(prefix, b.id): [1]}
        assert [n for _, _, n in await _stream(engine, a.id)] == [1, 2, 3]
    finally:
        await pubsub.aclose()
        await redis.aclose()
