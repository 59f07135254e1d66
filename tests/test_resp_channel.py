"""``infra.resp_channel``: the lean pipelined connection that carries PUBLISH and the typing throttle's SET on a
single Redis — against the real Redis, and against a scripted server for what a real one will not do on cue
(stall, hang up)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from urllib.parse import quote

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from infra.redis_publisher import RedisPublisher
from infra.resp_channel import RespChannel
from infra.typing_throttle import TypingThrottle
from tests.support.scripted_redis import scripted


@pytest.fixture
async def channel(redis_url: str) -> AsyncIterator[RespChannel]:
    ch = RespChannel(redis_url)
    yield ch
    await ch.close()


async def test_concurrent_callers_get_their_own_replies_in_order(channel: RespChannel,
                                                                 redis_client: aioredis.Redis) -> None:
    key = f"resp:{uuid.uuid4()}"
    replies = await asyncio.gather(*(channel.call("INCR", key) for _ in range(200)))
    assert replies == list(range(1, 201))  # each caller got the reply to its own command
    assert await channel.call_many([("SET", key, b"x" * 70_000), ("STRLEN", key), ("GET", f"{key}:none")]) == [
        b"OK", 70_000, None]
    assert await redis_client.get(key) == b"x" * 70_000


async def test_an_error_reply_raises_after_the_other_commands_ran(channel: RespChannel,
                                                                  redis_client: aioredis.Redis) -> None:
    key = f"resp:{uuid.uuid4()}"
    await redis_client.set(key, b"not a number")
    with pytest.raises(ResponseError, match="not an integer"):
        await channel.call_many([("SET", f"{key}:a", 1), ("INCR", key), ("SET", f"{key}:b", 2)])
    assert await redis_client.mget(f"{key}:a", f"{key}:b") == [b"1", b"2"]
    assert await channel.call("GET", f"{key}:a") == b"1"  # the connection is still good


async def test_the_typing_throttle_lets_one_event_through_per_interval(channel: RespChannel) -> None:
    throttle = TypingThrottle(channel, f"resp:{uuid.uuid4()}:", interval_s=0.3)
    user, match, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assert await throttle.admit(user, match) is True
    assert await throttle.admit(user, match) is False  # inside the interval
    assert await throttle.admit(user, other) is True  # another chat is throttled apart
    await asyncio.sleep(0.4)
    assert await throttle.admit(user, match) is True


async def test_published_messages_reach_a_subscriber(channel: RespChannel, redis_client: aioredis.Redis) -> None:
    name = f"resp:{uuid.uuid4()}"
    pubsub = redis_client.pubsub()
    await pubsub.subscribe(name)
    await pubsub.get_message(timeout=1)  # the subscribe confirmation
    publisher = RedisPublisher(redis_client, commands=channel)
    await publisher.publish(name, b"E{\"n\": 1}")
    await publisher.publish_many([(name, b"E{\"n\": 2}"), (name, b"E{\"n\": 3}")])
    got = [await pubsub.get_message(timeout=2) for _ in range(3)]
    await pubsub.aclose()
    assert [m["data"] for m in got if m] == [b"E{\"n\": 1}", b"E{\"n\": 2}", b"E{\"n\": 3}"]
    assert publisher.failures == 0


async def test_credentials_and_database_from_the_url(redis_url: str, redis_client: aioredis.Redis) -> None:
    """AUTH user password and SELECT db as the URL says; a wrong password is refused, not ignored."""
    user, password = f"resp-{uuid.uuid4().hex[:8]}", "p@ss word"
    await redis_client.execute_command("ACL", "SETUSER", user, "on", f">{password}", "~*", "&*", "+@all")
    key = f"resp:{uuid.uuid4()}"
    try:
        good = RespChannel(_with(redis_url, user, password, db=5))
        await good.call("SET", key, b"in five")
        await good.close()
        in_five = aioredis.Redis.from_url(redis_url, db=5)
        assert await in_five.get(key) == b"in five" and await redis_client.get(key) is None
        await in_five.delete(key)
        await in_five.aclose()
        bad = RespChannel(_with(redis_url, user, "wrong", db=0))
        with pytest.raises(ResponseError, match="WRONGPASS"):
            await bad.call("PING")
        await bad.close()
    finally:
        await redis_client.execute_command("ACL", "DELUSER", user)


def _with(url: str, user: str, password: str, db: int) -> str:
    scheme, rest = url.split("://", 1)
    credentials = f"{quote(user, safe='')}:{quote(password, safe='')}@"
    if scheme == "unix":
        return f"unix://{credentials}{rest}?db={db}"
    return f"{scheme}://{credentials}{rest.split('/', 1)[0]}/{db}"


async def test_a_stalled_redis_times_out_and_the_next_call_reconnects() -> None:
    stalled = True
    async with scripted(lambda cmd: None if stalled else b":7\r\n") as server:
        ch = RespChannel(server.url, reply_timeout_s=0.3)
        started = time.monotonic()
        results = await asyncio.gather(ch.call("PUBLISH", "a", "1"), ch.call("PUBLISH", "b", "2"),
                                       return_exceptions=True)
        took = time.monotonic() - started
        assert all(isinstance(r, RedisTimeoutError) for r in results), results
        assert 0.3 <= took < 2.5, took  # the watchdog looks once a second
        stalled = False
        assert await ch.call("PUBLISH", "c", "3") == 7
        assert server.connections == 2
        await ch.close()


async def test_a_connection_lost_mid_call_fails_the_waiting_callers_and_the_next_call_reconnects() -> None:
    async with scripted(lambda cmd: None, hang_up_after=2) as server:
        ch = RespChannel(server.url)
        results = await asyncio.gather(ch.call("PUBLISH", "a", "1"), ch.call("PUBLISH", "b", "2"),
                                       return_exceptions=True)
        assert all(isinstance(r, RedisConnectionError) for r in results), results
        server.answer = lambda cmd: b"+OK\r\n"
        server.hang_up_after = None
        assert await ch.call("SET", "k", "v") == b"OK"
        assert server.connections == 2
        await ch.close()


async def test_tcp_setup_sends_auth_and_select_first() -> None:
    async with scripted(lambda cmd: b"+OK\r\n" if cmd[0] in (b"AUTH", b"SELECT") else b":0\r\n") as server:
        ch = RespChannel(f"redis://app:s3cret@127.0.0.1:{server.port}/3")
        assert await ch.call("PUBLISH", "x", b"m") == 0
        await ch.close()
    assert server.commands == [[b"AUTH", b"app", b"s3cret"], [b"SELECT", b"3"], [b"PUBLISH", b"x", b"m"]]


async def test_a_setup_left_unanswered_times_out_and_closes_the_connection() -> None:
    async with scripted(lambda cmd: None) as server:
        ch = RespChannel(f"redis://app:pw@127.0.0.1:{server.port}", connect_timeout_s=0.5)
        with pytest.raises(RedisConnectionError, match="TimeoutError"):
            await ch.call("PING")
        async with asyncio.timeout(5):  # not left open
            while server.closed_by_client < 1:
                await asyncio.sleep(0.01)
        assert server.commands == [[b"AUTH", b"app", b"pw"]]


async def test_no_server_is_a_connection_error(unused_tcp_port: int) -> None:
    ch = RespChannel(f"redis://127.0.0.1:{unused_tcp_port}", connect_timeout_s=1)
    with pytest.raises(RedisConnectionError):
        await ch.call("PING")


def test_tls_and_cluster_urls_stay_on_redis_py() -> None:
    assert RespChannel.supports("redis://h:6379/0") and RespChannel.supports("unix:///tmp/r.sock")
    assert not RespChannel.supports("rediss://h:6380") and not RespChannel.supports("redis+cluster://h:1,h:2")
    with pytest.raises(ValueError, match="redis:// or unix://"):
        RespChannel("rediss://h:6380")


def test_under_uvloop_as_the_nodes_run_it(redis_url: str) -> None:
    """The nodes run on uvloop, whose transports are not asyncio's classes: the same calls, a hang-up and the
    reconnect, over the Unix socket or TCP of the Redis under test and over TCP to the scripted server."""
    import uvloop

    async def scenario() -> None:
        channel = RespChannel(redis_url)
        key = f"resp:{uuid.uuid4()}"
        assert await channel.call("SET", key, b"1", "PX", 10_000, "NX") == b"OK"
        assert await channel.call("SET", key, b"1", "PX", 10_000, "NX") is None
        assert await channel.call_many([("DEL", key), ("EXISTS", key)]) == [1, 0]
        await channel.close()
        async with scripted(lambda cmd: None, hang_up_after=1) as server:
            tcp = RespChannel(server.url)
            with pytest.raises(RedisConnectionError):
                await tcp.call("PUBLISH", "a", "1")
            server.answer, server.hang_up_after = (lambda cmd: b":1\r\n"), None
            assert await tcp.call("PUBLISH", "a", "1") == 1
            await tcp.close()

    uvloop.run(scenario())
