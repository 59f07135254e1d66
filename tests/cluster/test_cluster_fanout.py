"""Fan-out over a real Redis Cluster: sharded pub/sub between two server processes, through failover and resharding.

The nodes run with ``REDIS_URL=redis+cluster://...``; events are appended from the test process (no node) and
published with SPUBLISH. Every durable event must reach every device, live or by the catch-up a node runs after
it resubscribed, whatever happens to the cluster meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid

from redis.crc import key_slot

from delete_api.embedded.redis_cluster import RedisClusterHarness
from domain.events import wire
from tests.support.nodes import SERVER_PREFIX, Device, EventSource, Nodes, open_device, signup_user

A, B = 0, 1
DELIVERY_S = 15.0


def channel_slot(user_id: uuid.UUID) -> int:
    return key_slot(wire.user_channel(SERVER_PREFIX, user_id).encode())


class Chat:
    """Appends events for ``user`` every ``interval_s`` in the background; remembers every committed seq."""

    def __init__(self, events: EventSource, user_id: uuid.UUID, interval_s: float = 0.02) -> None:
        self.events = events
        self.user_id = user_id
        self.interval_s = interval_s
        self.seqs: list[int] = []
        self.slowest_s = 0.0  # the longest append (its publish waits while the cluster fails over)
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Chat:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        n = 0
        while True:
            started = time.monotonic()
            self.seqs.append(await self.events.append(self.user_id, {"n": n}))
            self.slowest_s = max(self.slowest_s, time.monotonic() - started)
            n += 1
            await asyncio.sleep(self.interval_s)

    async def wait_for(self, count: int, timeout_s: float = 10.0) -> None:
        async with asyncio.timeout(timeout_s):
            target = len(self.seqs) + count
            while len(self.seqs) < target:
                await asyncio.sleep(0.01)


async def assert_all_delivered(devices: list[Device], seqs: list[int]) -> None:
    for device in devices:
        await device.wait_for_seqs(seqs, timeout_s=DELIVERY_S)
        assert device.received >= set(seqs)


def shard_subscriber_connections(cluster: RedisClusterHarness) -> list[int]:
    """Per master: how many client connections hold shard-channel subscriptions."""
    counts = []
    for master in cluster.masters():
        lines = master.command("CLIENT", "LIST").splitlines()
        counts.append(sum(1 for line in lines if _field(line, "ssub") not in ("", "0")))
    return counts


def _field(line: str, name: str) -> str:
    for part in line.split():
        key, _, value = part.partition("=")
        if key == name:
            return value
    return ""


async def test_two_nodes_deliver_across_the_cluster_with_one_subscriber_per_shard(
        cluster_nodes: Nodes, cluster_events: EventSource, redis_cluster: RedisClusterHarness) -> None:
    """Devices on both nodes get every event in order; 30 users cost each node at most one connection per shard."""
    users = [await signup_user(cluster_nodes[i % 2].base_url) for i in range(30)]
    async with contextlib.AsyncExitStack() as stack:
        devices = [await stack.enter_async_context(open_device(cluster_nodes[i % 2].ws_url, u.token))
                   for i, u in enumerate(users)]
        phone = devices[0]
        tablet = await stack.enter_async_context(open_device(cluster_nodes[B].ws_url, users[0].token))
        seqs = [await cluster_events.append(users[0].id, {"n": i}) for i in range(50)]
        await assert_all_delivered([phone, tablet], seqs)
        assert phone.seqs == seqs and tablet.seqs == seqs  # once each, in order
        for user, device in zip(users[1:], devices[1:], strict=True):
            seq = await cluster_events.append(user.id, {"hello": True})
            await device.wait_for_seqs([seq], timeout_s=5)

        per_master = shard_subscriber_connections(redis_cluster)
        shard_channels = sum(len(m.command("PUBSUB", "SHARDCHANNELS")) for m in redis_cluster.masters())
        # two nodes: at most two subscriber connections on any master, however many users they serve
        assert max(per_master) <= 2, per_master
        assert shard_channels >= len(users), shard_channels


async def test_a_master_killed_mid_chat_loses_no_durable_event(
        cluster_nodes: Nodes, cluster_events: EventSource, healthy_cluster: RedisClusterHarness) -> None:
    """SIGKILL the master of the user's channel while events flow; its replica takes over; nothing is lost."""
    user = await signup_user(cluster_nodes[A].base_url)
    master = healthy_cluster.slot_owner(channel_slot(user.id))
    replica = healthy_cluster.replica_of(master)
    async with open_device(cluster_nodes[A].ws_url, user.token) as phone, \
            open_device(cluster_nodes[B].ws_url, user.token) as tablet:
        async with Chat(cluster_events, user.id) as chat:
            await chat.wait_for(10)
            healthy_cluster.kill(master)
            killed_at = time.monotonic()
            await asyncio.to_thread(healthy_cluster.wait_promoted, replica)
            promoted_s = time.monotonic() - killed_at
            await chat.wait_for(20)  # the chat goes on after the failover
        await assert_all_delivered([phone, tablet], chat.seqs)
        print(f"{len(chat.seqs)} events, replica promoted {promoted_s:.1f}s after the kill, "
              f"slowest append {chat.slowest_s:.2f}s")
        assert not phone.closed and not tablet.closed


async def test_moving_the_partition_slot_to_another_master_keeps_delivery_going(
        cluster_nodes: Nodes, cluster_events: EventSource, healthy_cluster: RedisClusterHarness) -> None:
    """Reshard the slot of the user's channel partition while chatting: every event arrives, and live push resumes."""
    user = await signup_user(cluster_nodes[B].base_url)
    slot = channel_slot(user.id)
    source = healthy_cluster.slot_owner(slot)
    target = next(m for m in healthy_cluster.masters() if m.port != source.port)
    async with open_device(cluster_nodes[A].ws_url, user.token) as phone, \
            open_device(cluster_nodes[B].ws_url, user.token) as tablet:
        async with Chat(cluster_events, user.id) as chat:
            await chat.wait_for(10)
            await asyncio.to_thread(healthy_cluster.migrate_slot, slot, target)
            assert healthy_cluster.slot_owner(slot).port == target.port
            await chat.wait_for(20)
        await assert_all_delivered([phone, tablet], chat.seqs)
        print(f"{len(chat.seqs)} events, slowest append {chat.slowest_s:.2f}s")

        # live again: a new event arrives promptly through the new owner
        seq = await cluster_events.append(user.id, {"after": "migration"})
        for device in (phone, tablet):
            await device.wait_for_seqs([seq], timeout_s=3)
        assert not phone.closed and not tablet.closed


async def test_a_manual_failover_mid_chat_loses_nothing_and_live_push_resumes(
        cluster_nodes: Nodes, cluster_events: EventSource, healthy_cluster: RedisClusterHarness) -> None:
    """``CLUSTER FAILOVER`` on the replica (a planned switch-over) while chatting: 0 lost, the next event is live."""
    user = await signup_user(cluster_nodes[A].base_url)
    master = healthy_cluster.slot_owner(channel_slot(user.id))
    replica = healthy_cluster.replica_of(master)
    async with open_device(cluster_nodes[A].ws_url, user.token) as phone, \
            open_device(cluster_nodes[B].ws_url, user.token) as tablet:
        async with Chat(cluster_events, user.id) as chat:
            await chat.wait_for(10)
            replica.command("CLUSTER", "FAILOVER")
            await asyncio.to_thread(healthy_cluster.wait_promoted, replica)
            await chat.wait_for(20)
        await assert_all_delivered([phone, tablet], chat.seqs)
        seq = await cluster_events.append(user.id, {"after": "failover"})
        for device in (phone, tablet):
            await device.wait_for_seqs([seq], timeout_s=3)
        print(f"{len(chat.seqs)} events, slowest append {chat.slowest_s:.2f}s")
