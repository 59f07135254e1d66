"""Producing durable events from tests through the domain's own store-then-publish path."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine

from delete_api.database import make_sessionmaker
from domain.events.log import EventLog
from domain.transaction import unit_of_work
from infra.redis_publisher import RedisPublisher


@asynccontextmanager
async def event_log(redis_url: str, prefix: str) -> AsyncIterator[EventLog]:
    """An ``EventLog`` publishing under a server's Redis key prefix, as the domain does."""
    redis = aioredis.Redis.from_url(redis_url)
    publisher = RedisPublisher(redis)
    try:
        yield EventLog(publisher, prefix)
    finally:
        await publisher.close()
        await redis.aclose()


async def append(engine: AsyncEngine, log: EventLog, user_id: str, numbers: range, *,
                 close_first: int | None = None) -> None:
    """Append ``test.event {n}`` for each number in one transaction; optionally close the user's sockets first."""
    async with unit_of_work(make_sessionmaker(engine)) as session:
        if close_first is not None:  # published after commit and before the events: they miss the old socket
            log.control_after_commit(session, uuid.UUID(user_id), "close", code=close_first, reason="test")
        for n in numbers:
            await log.append(session, uuid.UUID(user_id), "test.event", {"n": n})
