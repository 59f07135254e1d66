"""CONTRACT section 2 "Never lose a durable event" when Redis restarts or a node dies, with real server processes."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from delete_api.embedded.redis import EmbeddedRedis
from tests.support.nodes import Device, EventSource, Nodes, event_source, open_device, running_nodes, signup_user

A, B = 0, 1
REDIS_DOWN_S = 3.0
CATCH_UP_WITHIN_S = 5.0


@pytest.fixture(scope="module")
def fault_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    """This module's own Redis (whatever REDIS_URL says), so a test may stop and restart it."""
    server = EmbeddedRedis(tmp_path_factory.mktemp("faults") / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
async def nodes(database_url: str, fault_redis: EmbeddedRedis,
                tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Nodes]:
    """Nodes A and B on the module's Redis (output in <tmp>/faultnodes*/node-<i>.log)."""
    async with running_nodes(2, database_url=database_url, redis_url=fault_redis.url,
                             root=tmp_path_factory.mktemp("faultnodes")) as running:
        yield running


@pytest.fixture(scope="module")
async def events(engine: AsyncEngine, fault_redis: EmbeddedRedis) -> AsyncIterator[EventSource]:
    """A writer that drops what it cannot publish (no retry buffer): events appended while Redis is down
    can then reach a socket only through its node's catch-up or the client's sync, which is what is tested."""
    async with event_source(engine, fault_redis.url, retry_buffer=0) as source:
        yield source


async def poll_health(base_url: str, status: int, within_s: float) -> tuple[int, float]:
    """GET /v1/health until it answers ``status``; return (last status, seconds taken)."""
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as http:
        while True:
            resp = await http.get("/v1/health")
            if resp.status_code == status or time.monotonic() - started > within_s:
                return resp.status_code, time.monotonic() - started
            await asyncio.sleep(0.1)


async def test_redis_restart_loses_no_event(nodes: Nodes, events: EventSource, fault_redis: EmbeddedRedis) -> None:
    """Redis down 3 s mid-stream: health 503 then 200, nodes catch sockets up unasked, and sync misses nothing."""
    ann = await signup_user(nodes[A].base_url, "Ann")
    bob = await signup_user(nodes[A].base_url, "Bob")
    appended: dict[uuid.UUID, list[int]] = {ann.id: [], bob.id: []}
    async with (open_device(nodes[A].ws_url, ann.token) as ann_a, open_device(nodes[B].ws_url, bob.token) as bob_b,
                open_device(nodes[B].ws_url, ann.token) as ann_b, open_device(nodes[A].ws_url, bob.token) as bob_a):
        # ann_a and bob_b only ever listen (node catch-up); ann_b and bob_a sync once Redis is back
        listeners, syncers = [(ann_a, ann.id), (bob_b, bob.id)], [(ann_b, ann.id), (bob_a, bob.id)]
        during_outage = await write_through_a_redis_outage(nodes, events, fault_redis, appended, listeners + syncers)
        assert all(n > 50 for n in during_outage.values()), during_outage  # events were written while Redis was down

        await asyncio.to_thread(fault_redis.start)
        back_at = time.monotonic()
        for node in (A, B):
            status, took = await poll_health(nodes[node].base_url, 200, within_s=10)
            assert status == 200, f"node {node} health still {status} after Redis came back"
            print(f"node {node}: health 200 {took:.2f}s after Redis restarted")

        # sync {after: last seen} on two of the sockets: every committed event, in order, by the reply
        for device, user_id in syncers:
            reply = await device.sync(device.max_seq)
            assert reply.last_seq == appended[user_id][-1]
            assert device.received == set(appended[user_id])

        # and without anyone asking, the nodes' catch-up delivers the missed events to the other two
        for device, user_id in listeners:
            await device.wait_for_seqs(appended[user_id], timeout_s=10)
            caught_up = time.monotonic() - back_at
            print(f"listener of {device.hello['data']['user_id'][:8]} caught up {caught_up:.2f}s after Redis "
                  f"restarted ({during_outage[user_id]} events missed live)")
            assert caught_up < CATCH_UP_WITHIN_S, f"catch-up took {caught_up:.1f}s"

        await check_live_delivery_again(events, appended, listeners, syncers)


async def write_through_a_redis_outage(nodes: Nodes, events: EventSource, fault_redis: EmbeddedRedis,
                                       appended: dict[uuid.UUID, list[int]],
                                       devices: list[tuple[Device, uuid.UUID]]) -> dict[uuid.UUID, int]:
    """Append events for every user of ``appended`` non-stop while Redis stops (health 503) for REDIS_DOWN_S;
    return how many each user got while Redis was down."""
    writing = asyncio.Event()
    writing.set()
    producer = asyncio.create_task(produce(events, appended, writing))
    try:
        await asyncio.sleep(0.5)
        for device, user_id in devices:
            await device.wait_for_seqs(appended[user_id][:10], timeout_s=5)
        before_outage = {u: len(s) for u, s in appended.items()}

        await asyncio.to_thread(fault_redis.stop)
        down_at = time.monotonic()
        status, took = await poll_health(nodes[A].base_url, 503, within_s=5)
        assert status == 503, f"health answered {status} with Redis down"
        print(f"health 503 {took:.2f}s after Redis stopped")
        await asyncio.sleep(max(0.0, REDIS_DOWN_S - (time.monotonic() - down_at)))
    finally:
        writing.clear()
        await producer
    return {u: len(s) - before_outage[u] for u, s in appended.items()}


async def produce(events: EventSource, appended: dict[uuid.UUID, list[int]], writing: asyncio.Event) -> None:
    """One event for each user every 10 ms while ``writing`` is set; their seqs go into ``appended``."""
    n = 0
    while writing.is_set():
        for user_id in appended:
            appended[user_id].append(await events.append(user_id, {"n": n}))
        n += 1
        await asyncio.sleep(0.01)


async def check_live_delivery_again(events: EventSource, appended: dict[uuid.UUID, list[int]],
                                    listeners: list[tuple[Device, uuid.UUID]],
                                    syncers: list[tuple[Device, uuid.UUID]]) -> None:
    """Live delivery works again after the resubscribe; nothing was lost, duplicated or reordered."""
    for user_id in appended:
        appended[user_id].extend([await events.append(user_id, {"after": "restart", "n": i}) for i in range(3)])
    for device, user_id in listeners + syncers:
        await device.wait_for_seqs(appended[user_id], timeout_s=5)

    await asyncio.sleep(0.2)
    for device, user_id in listeners + syncers:
        assert device.received == set(appended[user_id]), "an event was lost"
        assert list(device.first_seen) == sorted(device.first_seen), "a new event arrived after a higher seq"
    for device, _ in listeners:
        assert len(device.seqs) == len(device.received), "a listener got duplicates without ever syncing"


async def test_client_of_a_killed_node_recovers_everything_on_the_other(nodes: Nodes, events: EventSource) -> None:
    """A client of a SIGKILLed node reconnects to the other with its last seq, and sync returns all it missed."""
    user = await signup_user(nodes[A].base_url)
    appended: list[int] = []
    writing = asyncio.Event()
    writing.set()

    async def produce() -> None:
        n = 0
        while writing.is_set():
            appended.append(await events.append(user.id, {"n": n}))
            n += 1
            await asyncio.sleep(0.005)

    async with open_device(nodes[B].ws_url, user.token) as on_b:
        producer = asyncio.create_task(produce())
        try:
            await asyncio.sleep(0.3)
            await on_b.wait_for_seqs(appended[:10], timeout_s=5)
            nodes.kill(B)
            code = await on_b.wait_closed(5)
            await asyncio.sleep(0.3)  # the stream goes on while the client is away
        finally:
            writing.clear()
            await producer
    last_seen = on_b.max_seq
    assert on_b.seqs == list(range(1, last_seen + 1))
    assert code == 1006  # no goodbye from a killed process

    async with open_device(nodes[A].ws_url, user.token) as on_a:
        assert on_a.hello["data"]["last_seq"] == appended[-1]
        reply = await on_a.sync(last_seen)
        assert reply.last_seq == appended[-1]
        assert on_a.seqs == list(range(last_seen + 1, appended[-1] + 1))
    print(f"saw {last_seen} events on node B before it was killed; sync on node A returned the other "
          f"{appended[-1] - last_seen}")
    assert set(appended) == set(range(1, appended[-1] + 1))
