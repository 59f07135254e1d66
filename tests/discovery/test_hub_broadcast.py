"""The hub's node-wide broadcast channels: delivered to their callback, and again after Redis drops the link."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from delete_api.resources import random_prefix
from domain.events import wire
from realtime.hub import Hub


async def test_broadcasts_reach_the_callback_and_survive_a_dropped_subscription(redis_url: str) -> None:
    """A message on a broadcast channel reaches its callback, also after the subscription connection is killed."""
    prefix = random_prefix()
    name = f"hub-{prefix.rstrip(':')}"
    hub = Hub(lambda: aioredis.Redis.from_url(redis_url, client_name=name), prefix)
    received: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    channel = f"{prefix}discovery"
    admin = aioredis.Redis.from_url(redis_url)
    await hub.start()
    try:
        async with asyncio.timeout(10):
            while not hub.connected:
                await asyncio.sleep(0.01)
        await hub.on_broadcast(channel, lambda kind, payload: received.put_nowait((kind, payload)))
        await admin.publish(channel, wire.control("profile_changed", user_id="a"))
        assert await asyncio.wait_for(received.get(), 5) == ("C", '{"op":"profile_changed","user_id":"a"}')

        for client in await admin.client_list():  # only this hub's connection: the Redis may be shared
            if client.get("name") == name:
                await admin.client_kill_filter(_id=client["id"])
        async with asyncio.timeout(10):  # the hub reconnects and subscribes the broadcast channel again
            while hub.reconnects == 0 or not hub.connected:
                await asyncio.sleep(0.01)
        await admin.publish(channel, wire.control("profile_changed", user_id="b"))
        assert (await asyncio.wait_for(received.get(), 5))[1].endswith('"b"}')
    finally:
        await hub.stop()
        await admin.aclose()
