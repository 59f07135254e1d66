"""A ``Presence`` of its own on a Redis client (one server or a cluster), and the sockets it counts."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.batch_connection import BatchConnection
from domain.events.log import EventLog
from infra.redis_commands import command_channel
from infra.redis_publisher import RedisPublisher
from realtime.presence import Presence


@dataclass(frozen=True)
class Sock:
    """What presence reads of a socket."""

    user_key: str
    session_id: uuid.UUID = field(default_factory=uuid.uuid4)


@asynccontextmanager
async def presence_on(client: aioredis.Redis, engine: AsyncEngine, ttl_s: float = 60,
                      url: str | None = None) -> AsyncIterator[Presence]:
    """Presence under a key prefix of its own; its publisher and its partners' connection closed afterwards.
    With ``url`` (``client``'s), its scripts go out on the command channel a node would use (the lean connection
    on a single Redis), else on ``client``'s pipelines."""
    publisher = RedisPublisher(client)
    prefix = f"t{uuid.uuid4().hex[:8]}:"
    reads = BatchConnection(engine)
    commands = command_channel(url, client) if url is not None else None
    try:
        yield Presence(client, prefix, EventLog(publisher, prefix), reads, ttl_s=ttl_s, commands=commands)
    finally:
        await publisher.close()
        await reads.close()
        if commands is not None:
            await commands.close()


async def outlive_the_ttl(presence: Presence, people: int) -> None:
    """``people`` people connect (the first one twice), one leaves; with the refresh running for twice the ttl,
    everyone else is still online and the one who left is not brought back; the first one stays online on one
    device when the other leaves."""
    users = [str(uuid.uuid4()) for _ in range(people)]
    phones = [Sock(user) for user in users]
    tablet = Sock(users[0])
    await asyncio.gather(*(presence.connected(s) for s in [*phones, tablet]))
    await presence.start()
    try:
        await presence.disconnected(phones[1])
        await asyncio.sleep(2 * presence.ttl_s)
        assert await presence.online_count() == people - 1
        assert [await presence.is_online(user) for user in users] == [True, False] + [True] * (people - 2)
        await presence.disconnected(tablet)
        await asyncio.sleep(presence.ttl_s)
        assert await presence.is_online(users[0])
    finally:
        await presence.stop()
