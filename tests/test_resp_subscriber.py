"""``infra.resp_subscriber``: the hub's subscription to a single Redis on the lean connection — messages to the
right sockets, a killed connection noticed and resubscribed, and a silent one given up on."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from delete_api.resources import random_prefix
from domain.events import wire
from infra.resp_subscriber import LeanSubscriber
from realtime.hub import Hub
from tests.support.scripted_redis import scripted


@dataclass(eq=False)
class Socket:
    user_key: str
    got: list[tuple[str, int, str]] = field(default_factory=list)
    resubscribed: int = 0

    def on_message(self, kind: wire.Kind, seq: int, payload: str, published_ms: int | None) -> None:
        self.got.append((kind, seq, payload))

    def on_resubscribed(self) -> None:
        self.resubscribed += 1


async def _until(predicate: Callable[[], object], within_s: float = 10.0) -> None:
    async with asyncio.timeout(within_s):
        while not predicate():
            await asyncio.sleep(0.01)


async def test_the_hub_routes_messages_and_resubscribes_after_its_connection_is_killed(redis_url: str) -> None:
    prefix = random_prefix()
    name = f"hub-{uuid.uuid4().hex[:12]}"
    source = LeanSubscriber(redis_url, name=name)
    hub = Hub(lambda: source, prefix)
    admin = aioredis.Redis.from_url(redis_url)
    ann, bob, ann_tablet = Socket(str(uuid.uuid4())), Socket(str(uuid.uuid4())), None
    await hub.start()
    try:
        await _until(lambda: hub.connected)
        await hub.join(ann)
        await hub.join(bob)
        ann_tablet = Socket(ann.user_key)
        await hub.join(ann_tablet)
        await admin.publish(hub.channel_for(ann.user_key), wire.durable(7, '{"seq":7}'))
        await admin.publish(hub.channel_for(bob.user_key), wire.ephemeral('{"type":"typing"}'))
        await _until(lambda: ann.got and bob.got and ann_tablet.got)
        assert ann.got == ann_tablet.got == [("D", 7, '{"seq":7}')] and bob.got == [("E", 0, '{"type":"typing"}')]

        killed = 0
        for client in await admin.client_list():  # only this hub's connection: the Redis may be shared
            if client.get("name") == name:
                killed += await admin.client_kill_filter(_id=client["id"])
        assert killed == 1
        await _until(lambda: hub.reconnects == 1 and hub.connected)
        assert ann.resubscribed >= 1 and bob.resubscribed >= 1  # they catch up from PostgreSQL
        await hub.leave(bob)
        await admin.publish(hub.channel_for(ann.user_key), wire.durable(8, '{"seq":8}'))
        await admin.publish(hub.channel_for(bob.user_key), wire.ephemeral('{"type":"gone"}'))
        await _until(lambda: len(ann.got) == 2)
        await asyncio.sleep(0.2)
        assert ann.got[1] == ("D", 8, '{"seq":8}') and len(bob.got) == 1
    finally:
        await hub.stop()
        await admin.aclose()


async def test_a_silent_redis_is_pinged_and_then_given_up_on() -> None:
    """Subscribed, Redis says nothing unless something is published: a PING after ``ping_after_s`` of
    silence, and the connection dropped once nothing came back for ``dead_after_s``."""
    answering = True

    def answer(command: list[bytes]) -> bytes | None:
        if command[0] == b"SUBSCRIBE":
            return b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"
        return b"*2\r\n$4\r\npong\r\n$0\r\n\r\n" if answering else None

    async with scripted(answer) as server:
        pubsub = LeanSubscriber(server.url, ping_after_s=0.5, dead_after_s=2.5).pubsub()
        await pubsub.subscribe("a")
        assert (await pubsub.get_message(timeout=1))["type"] == "subscribe"  # type: ignore[index]
        await asyncio.sleep(3.5)  # longer than dead_after_s: the pongs keep it alive
        assert await pubsub.get_message(timeout=0.1) is None
        assert [b"PING"] in server.commands
        answering = False
        with pytest.raises(RedisTimeoutError):
            async with asyncio.timeout(6):
                while True:
                    await pubsub.get_message(timeout=None)
        with pytest.raises((RedisTimeoutError, RedisConnectionError)):  # every later call fails too
            await pubsub.get_message(timeout=0)
        await pubsub.aclose()


def test_a_subscription_under_uvloop(redis_url: str) -> None:
    import uvloop

    async def scenario() -> None:
        channel = f"resp:{uuid.uuid4()}"
        pubsub = LeanSubscriber(redis_url).pubsub()
        await pubsub.subscribe(channel)
        assert (await pubsub.get_message(timeout=2))["type"] == "subscribe"  # type: ignore[index]
        admin = aioredis.Redis.from_url(redis_url)
        await admin.publish(channel, b"hello")
        message = await pubsub.get_message(timeout=2)
        assert message is not None and message["data"] == b"hello" and message["channel"] == channel.encode()
        await admin.aclose()
        await pubsub.aclose()

    uvloop.run(scenario())
