"""A real Redis Cluster (3 masters, 3 replicas) for the session, and two server nodes on it.

Skipped, with the reason, when the machine has no ``redis-server`` 7 or later (sharded pub/sub).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from delete_api.database import make_sessionmaker
from delete_api.embedded.redis_cluster import RedisClusterHarness, redis_server_binary
from domain.events.log import EventLog
from infra.redis_cluster import cluster_client, parse_cluster_url
from infra.redis_publisher import RedisPublisher
from tests.support.nodes import SERVER_PREFIX, EventSource, Nodes, running_nodes


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterHarness]:
    """Six ``redis-server`` processes joined into a cluster, for the whole session."""
    binary = redis_server_binary()
    if binary is None:
        pytest.skip("no redis-server >= 7 (with redis-cli) on PATH: Redis Cluster sharded pub/sub needs Redis 7")
    harness = RedisClusterHarness(tmp_path_factory.mktemp("redis-cluster"), binary)
    try:
        harness.start()
        yield harness
    finally:
        harness.stop()


@pytest.fixture
def healthy_cluster(redis_cluster: RedisClusterHarness) -> Iterator[RedisClusterHarness]:
    """The cluster, brought back to 3 masters with a replica each after a test killed a node."""
    yield redis_cluster
    for node in redis_cluster.nodes:
        if not node.running:
            redis_cluster.restart(node)
    redis_cluster.wait_healthy()


@pytest.fixture(scope="session")
async def cluster_nodes(database_url: str, redis_cluster: RedisClusterHarness,
                        tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Nodes]:
    """Nodes A and B on the shared database and ``REDIS_URL=redis+cluster://...``."""
    root: Path = tmp_path_factory.mktemp("cluster-nodes")
    async with running_nodes(2, database_url=database_url, redis_url=redis_cluster.url, root=root) as running:
        yield running


class ClusterEventSource(EventSource):
    """``EventSource`` publishing through a ``RedisCluster`` client (SPUBLISH)."""

    def __init__(self, engine: AsyncEngine, url: str) -> None:
        cluster = parse_cluster_url(url)
        assert cluster is not None
        self.redis = cluster_client(cluster, max_connections=8, socket_timeout=2)
        self.publisher = RedisPublisher(self.redis)
        self.log = EventLog(self.publisher, SERVER_PREFIX)
        self.sessions = make_sessionmaker(engine)


@pytest.fixture(scope="session")
async def cluster_events(engine: AsyncEngine, redis_cluster: RedisClusterHarness) -> AsyncIterator[EventSource]:
    """Durable events appended by the test process (no node), published with SPUBLISH."""
    source = ClusterEventSource(engine, redis_cluster.url)
    try:
        yield source
    finally:
        await source.aclose()
