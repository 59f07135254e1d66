"""CONTRACT section 3 "Block" and "Report" through the real socket."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.events.wire import moderators_channel
from domain.wire.events import ModerationReport
from tests.social.support import COMMENT, error_code, no_event, online, scalar
from tests.support.factory import make_match, make_person
from tests.support.server import RunningServer
from tests.support.shapes import closed_match


async def test_block_ends_the_match_and_tells_both(server: RunningServer, engine: AsyncEngine) -> None:
    """Blocking a match ends it (unmatched): the blocker sees reason "blocked", the other only who ended it."""
    me, other = await make_person(engine), await make_person(engine)
    match_id = str(await make_match(engine, me, other, state="dating"))
    async with online(server, me, other) as (c, o):
        assert await c.call("block", {"user_id": other.key}) == {}
        assert (await c.next_event("match.updated"))["data"] == {
            "match_id": match_id, "state": "unmatched", "by": me.key, "reason": "blocked"}
        assert (await o.next_event("match.updated"))["data"] == {
            "match_id": match_id, "state": "unmatched", "by": me.key}
        assert await c.call("block", {"user_id": other.key}) == {}  # again: idempotent, no second event
        await no_event(o, "match.updated")
        # the match is gone from both lists, whatever states are asked for
        for client in (c, o):
            listed = await client.call("matches.list", {"states": ["active", "unmatched", "dating"]})
            assert listed["matches"] == []
    assert await scalar(engine, "SELECT state FROM matches WHERE id = :m", m=uuid.UUID(match_id)) == "unmatched"
    assert await scalar(engine, "SELECT count(*) FROM blocks WHERE blocker_id = :a", a=me.id) == 1


async def test_block_stops_likes_both_ways(server: RunningServer, engine: AsyncEngine) -> None:
    """After a block neither person can like the other, and an earlier like is no longer pending."""
    me, other = await make_person(engine), await make_person(engine)
    async with online(server, me, other) as (c, o):
        await o.call("like", {"user_id": me.key, "comment": COMMENT})
        await c.call("block", {"user_id": other.key})
        assert (await c.call("likes.pending"))["likes"] == []
        assert (await error_code(c, "like", {"user_id": other.key, "comment": COMMENT})).code == "not_found"
        assert (await error_code(o, "like", {"user_id": me.key, "comment": COMMENT})).code == "not_found"


async def test_block_of_nobody_is_not_found(server: RunningServer, engine: AsyncEngine) -> None:
    """Blocking an unknown id or oneself is not_found."""
    me = await make_person(engine)
    async with online(server, me) as (c,):
        for user_id in (str(uuid.uuid4()), me.key):
            assert (await error_code(c, "block", {"user_id": user_id})).code == "not_found"


@pytest.fixture
async def moderator_feed(server: RunningServer, redis_url: str) -> Any:
    """The moderators' Redis channel of the server, subscribed before the test acts."""
    client = aioredis.Redis.from_url(redis_url)
    pubsub = client.pubsub()
    await pubsub.subscribe(moderators_channel(server.settings.extra["redis_prefix"]))
    try:
        yield pubsub
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await client.aclose()


async def next_frame(pubsub: Any) -> dict[str, Any]:
    async with asyncio.timeout(5):
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
            if message is not None:
                kind, _, frame = message["data"].partition(b" ")
                assert kind == b"E"
                value: dict[str, Any] = json.loads(frame)
                return value


async def test_report_stores_blocks_and_reaches_moderators(server: RunningServer, engine: AsyncEngine,
                                                           moderator_feed: Any) -> None:
    """A report is stored, blocks the reported person (ending the match) and is published to moderators."""
    me, other = await make_person(engine), await make_person(engine)
    await make_person(engine, role="moderator")
    match_id = str(await make_match(engine, me, other))
    async with online(server, me, other) as (c, o):
        reply = await c.call("report", {"user_id": other.key, "reason": "harassment", "details": " rude messages "})
        report_id = reply["report_id"]
        frame = await next_frame(moderator_feed)
        assert (await o.next_event("match.updated"))["data"]["state"] == "unmatched"
        assert (await error_code(o, "like", {"user_id": me.key, "comment": COMMENT})).code == "not_found"
    assert frame["type"] == "moderation.report" and "seq" not in frame
    closed_match(ModerationReport, frame["data"])
    report = frame["data"]["report"]
    assert report["id"] == report_id and report["reporter_id"] == me.key and report["reported_id"] == other.key
    assert report["reason"] == "harassment" and report["details"] == "rude messages"
    assert report["created_at"].endswith("Z")
    assert await scalar(engine, "SELECT status FROM reports WHERE id = :r", r=uuid.UUID(report_id)) == "open"
    assert await scalar(engine, "SELECT count(*) FROM blocks WHERE blocker_id = :a AND blocked_id = :b",
                        a=me.id, b=other.id) == 1
    assert await scalar(engine, "SELECT state FROM matches WHERE id = :m", m=uuid.UUID(match_id)) == "unmatched"


@pytest.mark.parametrize("data", [{"reason": "ugly"}, {"reason": "spam", "details": "x" * 1001}, {}])
async def test_report_input_is_validated(server: RunningServer, engine: AsyncEngine,
                                         data: dict[str, Any]) -> None:
    """An unknown reason, details over 1000 characters or no reason is validation_error; nothing is stored."""
    me, other = await make_person(engine), await make_person(engine)
    async with online(server, me) as (c,):
        assert (await error_code(c, "report", {"user_id": other.key, **data})).code == "validation_error"
    assert await scalar(engine, "SELECT count(*) FROM reports WHERE reporter_id = :a", a=me.id) == 0
    assert await scalar(engine, "SELECT count(*) FROM blocks WHERE blocker_id = :a", a=me.id) == 0


async def test_report_of_nobody_is_not_found_and_publishes_nothing(server: RunningServer, engine: AsyncEngine,
                                                                   moderator_feed: Any) -> None:
    """Reporting an unknown id is not_found and the moderators hear nothing."""
    me = await make_person(engine)
    async with online(server, me) as (c,):
        err = await error_code(c, "report", {"user_id": str(uuid.uuid4()), "reason": "spam"})
        assert err.code == "not_found"
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await next_frame(moderator_feed)
