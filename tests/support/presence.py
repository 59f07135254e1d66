"""A ``Presence`` of its own on a Redis client (one server or a cluster), and the sockets it counts."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.batch_connection import BatchConnection
from domain.events.log import EventLog
from infra.redis_publisher import RedisPublisher
from realtime.presence import Presence


@dataclass(frozen=True)
class Sock:
    """What presence reads of a socket."""

    user_key: str
    session_id: uuid.UUID = field(default_factory=uuid.uuid4)


@asynccontextmanager
async def presence_on(client: aioredis.Redis, engine: AsyncEngine) -> AsyncIterator[Presence]:
    """Presence under a key prefix of its own; its publisher and its partners' connection closed afterwards."""
    publisher = RedisPublisher(client)
    prefix = f"t{uuid.uuid4().hex[:8]}:"
    reads = BatchConnection(engine)
    try:
        yield Presence(client, prefix, EventLog(publisher, prefix), reads, ttl_s=60)
    finally:
        await publisher.close()
        await reads.close()
