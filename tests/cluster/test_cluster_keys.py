"""Every Redis key use works on a cluster: keys used together in one transaction or script share a slot.

Presence keeps a user's sockets and their part of the online index in one partition's slot (its MULTI and
its disconnect script would otherwise be refused with CROSSSLOT); the login throttle's counters live in
different slots and still count.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from delete_api.embedded.redis_cluster import RedisClusterHarness
from infra.redis_cluster import cluster_client, parse_cluster_url
from realtime.presence import Presence
from tests.support.nodes import Nodes, signup_user
from tests.support.presence import Sock, outlive_the_ttl, presence_on
from tests.support.users import PASSWORD

A = 0


@pytest.fixture
async def presence(engine: AsyncEngine, redis_cluster: RedisClusterHarness) -> AsyncIterator[Presence]:
    url = parse_cluster_url(redis_cluster.url)
    assert url is not None
    client = cluster_client(url, max_connections=4)
    async with presence_on(client, engine) as presence:
        yield presence
    await client.aclose()


async def test_presence_counts_devices_and_people_across_partitions(presence: Presence) -> None:
    """A user is online from the first socket to the last; the online count sums every partition's index."""
    users = [str(uuid.uuid4()) for _ in range(12)]  # spread over several partitions, hence slots and masters
    before = await presence.online_count()
    assert before == 0
    phone, tablet = Sock(users[0]), Sock(users[0])
    await presence.connected(phone)
    await presence.connected(tablet)
    for user in users[1:]:
        await presence.connected(Sock(user))
    assert await presence.online_count() == len(users)
    assert await presence.is_online(users[0])

    await presence.disconnected(phone)
    assert await presence.is_online(users[0])  # the tablet is still there
    await presence.disconnected(tablet)
    assert not await presence.is_online(users[0])
    assert await presence.online_count() == len(users) - 1


async def test_presence_of_sockets_connecting_together_is_pipelined_across_masters(presence: Presence) -> None:
    """Sockets of many partitions connect and leave at once: their scripts share a pipeline, which the cluster
    client splits by master; everyone is counted, and nobody is left online."""
    socks = [Sock(str(uuid.uuid4())) for _ in range(40)]
    await asyncio.gather(*(presence.connected(s) for s in socks))
    assert await presence.online_count() == len(socks)
    assert presence._joins.batches < len(socks) / 4
    await asyncio.gather(*(presence.disconnected(s) for s in socks))
    assert await presence.online_count() == 0


async def test_live_sockets_stay_online_past_the_ttl_on_the_cluster(engine: AsyncEngine,
                                                                     redis_cluster: RedisClusterHarness) -> None:
    """The refresh's script runs once per partition of a chunk, in that partition's slot: everyone stays online."""
    url = parse_cluster_url(redis_cluster.url)
    assert url is not None
    client = cluster_client(url, max_connections=4)
    try:
        async with presence_on(client, engine, ttl_s=0.9) as presence:
            await outlive_the_ttl(presence, 40)
    finally:
        await client.aclose()


async def test_login_throttle_counts_failures_on_the_cluster(cluster_nodes: Nodes) -> None:
    """Five wrong passwords, then even the right one is refused with 429 and Retry-After, as on one Redis."""
    async with httpx.AsyncClient(base_url=cluster_nodes[A].base_url, timeout=10) as http:
        email = f"u{uuid.uuid4().hex[:12]}@example.test"
        signup = await http.post("/v1/auth/signup", json={"email": email, "password": PASSWORD,
                                                          "display_name": "Cluster", "birthdate": "1994-02-03"})
        assert signup.status_code == 201, signup.text
        for _ in range(5):
            wrong = await http.post("/v1/auth/login", json={"email": email, "password": "not the password"})
            assert wrong.status_code == 401, wrong.text
        refused = await http.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert refused.status_code == 429, refused.text
        assert int(refused.headers["Retry-After"]) > 0


async def test_a_node_on_the_cluster_is_healthy(cluster_nodes: Nodes) -> None:
    """``/v1/health`` checks Redis through the cluster client."""
    await signup_user(cluster_nodes[A].base_url)
    async with httpx.AsyncClient(timeout=5) as http:
        health = await http.get(f"{cluster_nodes[A].base_url}/v1/health")
    assert health.status_code == 200
    assert health.json()["checks"]["redis"] == "ok"
