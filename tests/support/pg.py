"""A PostgreSQL server the tests can create databases on: embedded or external."""

from __future__ import annotations

import asyncio
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

import asyncpg


class PostgresHandle(Protocol):
    def ensure_database(self, name: str) -> None: ...
    def url(self, database: str) -> str: ...


class ExternalPostgres:
    """A server given by ``DATABASE_URL``; databases are created on it by name."""

    def __init__(self, url: str) -> None:
        self._parts = urlsplit(url.replace("postgres://", "postgresql://", 1))

    def url(self, database: str) -> str:
        p = self._parts
        return urlunsplit((p.scheme.split("+")[0], p.netloc, "/" + database, p.query, ""))

    def ensure_database(self, name: str) -> None:
        async def create() -> None:
            conn = await asyncpg.connect(self.url(self._parts.path.strip("/") or "postgres"))
            try:
                if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                    await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()

        asyncio.run(create())
