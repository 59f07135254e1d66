"""Sockets that come and go together share one Redis pipeline for their presence, and nothing is miscounted.

A reconnect storm brings thousands of sockets to a node within seconds; each one's presence script (count
the socket, join the online index) goes out in the pipeline of the sockets that connected at about the same
time. The counts must be exactly what one script per socket gave, and a Redis that lost its scripts
(restarted, or a replica promoted) must not lose anyone's presence.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine

from realtime.presence import REFRESH_CHUNK, Presence
from tests.support.presence import Sock, outlive_the_ttl, presence_on

PEOPLE = 60


@pytest.fixture(params=["lean", "redis-py"])
async def presence(request: pytest.FixtureRequest, engine: AsyncEngine, redis_client: aioredis.Redis,
                   redis_url: str) -> AsyncIterator[Presence]:
    """On the node's lean command channel (as ``delete-api serve`` runs it) and on redis-py's pipelines (as on a
    cluster or over TLS)."""
    async with presence_on(redis_client, engine, url=redis_url if request.param == "lean" else None) as presence:
        yield presence


async def test_a_storm_of_sockets_is_counted_in_few_pipelines(presence: Presence) -> None:
    """60 people, each with a phone and a tablet, connect at once: 60 online, in far fewer round trips than
    sockets; then every phone leaves at once (all still online), then every tablet (nobody is)."""
    people = [str(uuid.uuid4()) for _ in range(PEOPLE)]
    phones, tablets = [Sock(p) for p in people], [Sock(p) for p in people]
    await asyncio.gather(*(presence.connected(s) for s in phones + tablets))
    assert await presence.online_count() == PEOPLE
    assert presence._joins.batches < PEOPLE / 4, presence._joins.batches  # one pipeline per batch
    assert presence._joins.keys == 2 * PEOPLE

    await asyncio.gather(*(presence.disconnected(s) for s in phones))
    assert await presence.online_count() == PEOPLE
    assert all([await presence.is_online(p) for p in people])
    await asyncio.gather(*(presence.disconnected(s) for s in tablets))
    assert await presence.online_count() == 0
    assert not any([await presence.is_online(p) for p in people])
    assert presence._leaves.batches < PEOPLE / 2


async def test_presence_survives_a_redis_that_lost_its_scripts(presence: Presence,
                                                              redis_client: aioredis.Redis) -> None:
    """After SCRIPT FLUSH (what a restarted Redis or a promoted replica looks like) the batch loads the script
    again: everyone who connects is counted and goes offline when they leave."""
    people = [Sock(str(uuid.uuid4())) for _ in range(10)]
    await presence.connected(people[0])
    await redis_client.script_flush()
    await asyncio.gather(*(presence.connected(s) for s in people[1:]))
    assert await presence.online_count() == 10
    await redis_client.script_flush()
    await asyncio.gather(*(presence.disconnected(s) for s in people))
    assert await presence.online_count() == 0


async def test_live_sockets_stay_online_past_the_ttl(engine: AsyncEngine, redis_client: aioredis.Redis,
                                                     redis_url: str) -> None:
    """The refresh pushes every live socket's expiry forward, more people than one refresh chunk included; a
    socket closed meanwhile stays closed."""
    async with presence_on(redis_client, engine, ttl_s=0.9, url=redis_url) as presence:
        await outlive_the_ttl(presence, REFRESH_CHUNK + 50)
