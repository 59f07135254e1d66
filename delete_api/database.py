"""Engine and session factory for the service's PostgreSQL."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from delete_api.settings import to_asyncpg_url


def make_engine(database_url: str, *, pool_size: int = 10, max_overflow: int = 10) -> AsyncEngine:
    """An asyncpg engine; statements time out after 15 s so a stuck query cannot hold a socket forever.

    Pooled connections are pinged on checkout, so a PostgreSQL restart costs no failed command once the
    server is back.
    """
    return create_async_engine(
        to_asyncpg_url(database_url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=10,
        pool_pre_ping=True,
        connect_args={"command_timeout": 15, "server_settings": {"application_name": "delete-api"}},
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """One session per request or socket message; objects stay usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
