"""Session fixtures: a real PostgreSQL (embedded, or ``DATABASE_URL``) and a real Redis.

``DATABASE_URL``, when set, must point at a disposable database server: the
suite creates and drops its own databases on it. ``REDIS_URL``, when set, is
used as is (the suite only writes keys under its own random prefix and flushes
nothing); unset, an embedded Redis is started.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from delete_api.database import make_engine, make_sessionmaker
from delete_api.embedded.postgres import EmbeddedPostgres
from delete_api.embedded.redis import EmbeddedRedis
from tests.support.pg import ExternalPostgres, PostgresHandle, create_database, fresh_name, pooled_engine
from tests.support.server import RunningServer, run_server
from tests.support.settings import make_settings


@pytest.fixture(scope="session")
def tmp_root() -> Iterator[Path]:
    """A scratch directory for the whole session (embedded servers, media)."""
    with tempfile.TemporaryDirectory(prefix="delete-tests-") as root:
        yield Path(root)


@pytest.fixture(scope="session")
def postgres(tmp_root: Path) -> Iterator[PostgresHandle]:
    """The PostgreSQL server the suite uses: ``DATABASE_URL`` if set, else an embedded one."""
    external = os.environ.get("DATABASE_URL")
    if external:
        yield ExternalPostgres(external)
        return
    server = EmbeddedPostgres(tmp_root / "postgres", durable=False)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def database_url(postgres: PostgresHandle) -> str:
    """A fresh database built by the real Alembic migrations, shared by the session."""
    return create_database(postgres, fresh_name("delete_test"))


@pytest.fixture(scope="session")
def empty_database_url(postgres: PostgresHandle) -> str:
    """An empty database (no migrations applied) for migration round-trip tests."""
    return create_database(postgres, fresh_name("delete_empty"), migrated=False)


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """A pooled engine on the migrated test database."""
    async with pooled_engine(database_url, pool_size=5) as eng:
        yield eng


@pytest.fixture
async def own_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine of its own, so that its pool's check-outs are this test's alone."""
    engine = make_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session inside a transaction that is rolled back after the test."""
    async with engine.connect() as conn:
        trans = await conn.begin()
        maker = make_sessionmaker(engine)
        async with maker(bind=conn, join_transaction_mode="create_savepoint") as s:
            yield s
        await trans.rollback()


@pytest.fixture(scope="session")
def embedded_redis(tmp_root: Path) -> Iterator[EmbeddedRedis | None]:
    """The embedded Redis when ``REDIS_URL`` is unset (tests may stop and restart it)."""
    if os.environ.get("REDIS_URL"):
        yield None
        return
    server = EmbeddedRedis(tmp_root / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_url(embedded_redis: EmbeddedRedis | None) -> str:
    """The Redis URL under test."""
    return embedded_redis.url if embedded_redis is not None else os.environ["REDIS_URL"]


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A Redis client for assertions."""
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def unique_email() -> str:
    """An email address no other test uses."""
    return f"u{uuid.uuid4().hex[:12]}@example.test"


@pytest.fixture(scope="session")
async def server(database_url: str, redis_url: str, tmp_root: Path) -> AsyncIterator[RunningServer]:
    """One real server for the session's REST and socket tests."""
    settings = make_settings(database_url, redis_url, tmp_root / "media")
    async with run_server(settings) as running:
        yield running


@pytest.fixture
async def http(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the session server."""
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
        yield client
