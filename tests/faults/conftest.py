"""Fixtures of the fault suite: its own PostgreSQL, Redis and two ``delete-api serve`` nodes.

Nothing here touches the session's shared servers: the tests kill, stop and
restart what these fixtures started. Every test begins with everything up and
healthy (``all_up`` restores whatever an earlier test left down).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.faults.support import Infra, restore
from tests.support.nodes import Nodes, running_nodes
from tests.support.pg import pooled_engine


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infra]:
    """The suite's own PostgreSQL (migrated) and Redis, in a temporary directory."""
    servers = Infra(tmp_path_factory.mktemp("faults"))
    try:
        servers.start()
        yield servers
    finally:
        servers.stop()


@pytest.fixture(scope="session")
async def fault_engine(infra: Infra) -> AsyncIterator[AsyncEngine]:
    """The test process's own connections to the suite's database (for set-up and for the checks)."""
    async with pooled_engine(infra.database_url, pool_size=5) as engine:
        yield engine


@pytest.fixture(scope="session")
async def cluster(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Nodes]:
    """Nodes A and B on the suite's servers (output in <tmp>/faultnodes*/node-<i>.log)."""
    async with running_nodes(2, database_url=infra.database_url, redis_url=infra.redis.url,
                             root=tmp_path_factory.mktemp("faultnodes")) as nodes:
        yield nodes


@pytest.fixture(autouse=True)
async def all_up(infra: Infra, cluster: Nodes) -> None:
    """Each test starts with PostgreSQL, Redis and both nodes up and healthy."""
    await restore(infra, cluster)
