"""A primary embedded PostgreSQL with a real streaming replica, migrated, and a server reading from the replica.

The pair is the suite's own (not the session's shared server): pausing the replica's replay must hold up
nobody else's tests. Every test that pauses replay resumes it before it ends (``lagging``).
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from delete_api.embedded.postgres import EmbeddedPostgres
from delete_api.settings import Secret
from tests.support.pg import create_database, pooled_engine
from tests.support.pg_replica import EmbeddedReplica, caught_up, pause_replay, resume_replay
from tests.support.server import RunningServer, run_server
from tests.support.settings import make_settings

DATABASE = "delete_replica"


@dataclass(frozen=True)
class Pair:
    """The primary, its replica and the URLs of the test database on each."""

    primary: EmbeddedPostgres
    replica: EmbeddedReplica

    @property
    def primary_url(self) -> str:
        return self.primary.url(DATABASE)

    @property
    def replica_url(self) -> str:
        return self.replica.url(DATABASE)

    async def caught_up(self) -> None:
        await caught_up(self.primary, self.replica)

    @asynccontextmanager
    async def lagging(self) -> AsyncIterator[None]:
        """The replica has everything written so far, then replays nothing more until the block ends."""
        await self.caught_up()
        await pause_replay(self.replica)
        try:
            yield
        finally:
            await resume_replay(self.replica)


@pytest.fixture(scope="session")
def pair() -> Iterator[Pair]:
    """A migrated database on a primary, streamed to a hot standby started from ``pg_basebackup -R``."""
    with tempfile.TemporaryDirectory(prefix="delete-replica-") as root:
        primary = EmbeddedPostgres(Path(root) / "primary", durable=False)
        primary.start()
        replica = EmbeddedReplica(primary, Path(root) / "replica", durable=False)
        try:
            create_database(primary, DATABASE)
            replica.start()
            yield Pair(primary, replica)
        finally:
            replica.stop()
            primary.stop()


@pytest.fixture(scope="session")
async def primary_engine(pair: Pair) -> AsyncIterator[AsyncEngine]:
    """An engine on the primary: where the tests write."""
    async with pooled_engine(pair.primary_url, pool_size=3) as engine:
        yield engine


@pytest.fixture(scope="session")
async def replica_engine(pair: Pair) -> AsyncIterator[AsyncEngine]:
    """An engine on the replica: what a lagging read sees."""
    async with pooled_engine(pair.replica_url, pool_size=2) as engine:
        yield engine


@pytest.fixture(scope="session")
async def read_server(pair: Pair, redis_url: str, tmp_root: Path) -> AsyncIterator[RunningServer]:
    """A server with ``DATABASE_URL`` on the primary and ``DATABASE_READ_URL`` on the replica."""
    settings = make_settings(pair.primary_url, redis_url, tmp_root / "replica-media",
                             database_read_url=Secret(pair.replica_url))
    async with run_server(settings) as running:
        yield running


@pytest.fixture(scope="session")
async def primary_only_server(pair: Pair, redis_url: str, tmp_root: Path) -> AsyncIterator[RunningServer]:
    """A server on the same primary without ``DATABASE_READ_URL``."""
    settings = make_settings(pair.primary_url, redis_url, tmp_root / "primary-only-media")
    async with run_server(settings) as running:
        yield running
