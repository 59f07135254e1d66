"""A PostgreSQL server the tests can create databases on (embedded or external), and databases on it.

``create_database`` is the one way the suites make a database of their own: created on the server and
built by the real Alembic migrations (or left empty for the migration tests); ``pooled_engine`` is an
engine on it that is disposed of afterwards.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from delete_api import migrate
from delete_api.database import make_engine


class PostgresHandle(Protocol):
    """What the embedded server (``delete_api.embedded.postgres``) and ``ExternalPostgres`` both offer; the
    discovery benchmark (``bench/discovery.py``) makes its throwaway databases through it too."""

    def ensure_database(self, name: str) -> None: ...
    def drop_database(self, name: str) -> None: ...
    def url(self, database: str) -> str: ...


class ExternalPostgres:
    """A server given by ``DATABASE_URL``; databases are created on it by name."""

    def __init__(self, url: str) -> None:
        self._parts = urlsplit(url.replace("postgres://", "postgresql://", 1))

    def url(self, database: str) -> str:
        p = self._parts
        return urlunsplit((p.scheme.split("+")[0], p.netloc, "/" + database, p.query, ""))

    def ensure_database(self, name: str) -> None:
        async def create(conn: asyncpg.Connection) -> None:
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await conn.execute(f'CREATE DATABASE "{name}"')

        asyncio.run(self._admin(create))

    def drop_database(self, name: str) -> None:
        async def drop(conn: asyncpg.Connection) -> None:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        asyncio.run(self._admin(drop))

    async def _admin(self, work: Callable[[asyncpg.Connection], Awaitable[None]]) -> None:
        """Run ``work`` on a connection to the URL's own database (``postgres`` when it names none)."""
        conn = await asyncpg.connect(self.url(self._parts.path.strip("/") or "postgres"))
        try:
            await work(conn)
        finally:
            await conn.close()


def fresh_name(prefix: str) -> str:
    """A database name no other run uses: ``<prefix>_<8 hex digits>``."""
    return f"{prefix}_{secrets.token_hex(4)}"


def create_database(postgres: PostgresHandle, name: str, *, migrated: bool = True) -> str:
    """Create database ``name`` on ``postgres`` (if missing), apply every migration unless ``migrated`` is
    false, and return its URL."""
    postgres.ensure_database(name)
    url = postgres.url(name)
    if migrated:
        migrate.upgrade(url)
    return url


@asynccontextmanager
async def pooled_engine(database_url: str, *, pool_size: int) -> AsyncIterator[AsyncEngine]:
    """An engine on ``database_url`` with ``pool_size`` pooled connections, disposed of on exit."""
    engine = make_engine(database_url, pool_size=pool_size)
    try:
        yield engine
    finally:
        await engine.dispose()
