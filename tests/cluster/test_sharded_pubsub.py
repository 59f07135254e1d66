"""``ShardedPubSub`` on a real cluster: what ends a subscription and what does not."""

from __future__ import annotations

import uuid

from redis.crc import key_slot

from delete_api.embedded.redis_cluster import RedisClusterHarness
from domain.events import wire
from infra.redis_cluster import ShardedSource, cluster_client, parse_cluster_url


async def test_leaving_and_rejoining_at_once_keeps_the_subscription(redis_cluster: RedisClusterHarness) -> None:
    """A user's last socket closing and a new one opening at once is no topology change: nothing resubscribes."""
    url = parse_cluster_url(redis_cluster.url)
    assert url is not None
    channel = wire.user_channel(f"t{uuid.uuid4().hex[:8]}:", uuid.uuid4())
    pubsub = ShardedSource(url).pubsub()
    publisher = cluster_client(url, max_connections=2)
    try:
        await pubsub.subscribe(channel)
        assert (await pubsub.get_message(timeout=5) or {}).get("type") == "subscribe"
        await pubsub.unsubscribe(channel)
        await pubsub.subscribe(channel)  # before the SUNSUBSCRIBE reply arrived
        assert (await pubsub.get_message(timeout=5) or {}).get("type") == "subscribe"
        await publisher.spublish(channel, b"E {}")
        message = await pubsub.get_message(timeout=5)  # would raise had the SUNSUBSCRIBE looked like a moved slot
        assert message is not None and message["type"] == "message" and message["data"] == b"E {}"
    finally:
        await pubsub.aclose()
        await publisher.aclose()


async def test_one_subscribe_per_partition_whatever_the_number_of_users(redis_cluster: RedisClusterHarness) -> None:
    """200 users' channels fall into at most 64 slots, and the subscriber holds one connection per master."""
    url = parse_cluster_url(redis_cluster.url)
    assert url is not None
    prefix = f"t{uuid.uuid4().hex[:8]}:"
    channels = [wire.user_channel(prefix, uuid.uuid4()) for _ in range(200)]
    assert len({key_slot(c.encode()) for c in channels}) <= wire.PARTITIONS
    pubsub = ShardedSource(url).pubsub()
    try:
        await pubsub.subscribe(*channels)
        confirmed: set[str] = set()
        while len(confirmed) < len(channels):
            message = await pubsub.get_message(timeout=5)
            assert message is not None, f"{len(confirmed)} of {len(channels)} confirmed"
            confirmed.add(message["channel"].decode())
        assert confirmed == set(channels)
        counts = [int(n) for m in redis_cluster.masters() for n in m.command("PUBSUB", "SHARDNUMSUB", *channels)[1::2]]
        assert sum(counts) == len(channels)
        assert pubsub.connections == len(redis_cluster.masters()) == 3
    finally:
        await pubsub.aclose()
