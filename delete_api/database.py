"""Engine and session factory for the service's PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine.default import DefaultDialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from delete_api.settings import to_asyncpg_url


def make_engine(database_url: str, *, pool_size: int = 10, max_overflow: int = 10) -> AsyncEngine:
    """An asyncpg engine; statements time out after 15 s so a stuck query cannot hold a socket forever.

    Pooled connections are pinged on checkout, so a PostgreSQL restart costs no failed command once the
    server is back.
    """
    engine = create_async_engine(
        to_asyncpg_url(database_url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=10,
        pool_pre_ping=True,
        connect_args={"command_timeout": 15, "server_settings": {"application_name": "delete-api"}},
    )
    _ping_in_one_round_trip(engine)
    return engine


def _ping_in_one_round_trip(engine: AsyncEngine) -> None:
    """Make the checkout ping one round trip instead of three.

    SQLAlchemy's asyncpg ping wraps ``;`` in its own BEGIN and ROLLBACK (for pgbouncer's transaction mode,
    which we do not use): three round trips on every checkout, i.e. on every socket command. The generic
    ping runs ``SELECT 1`` through the driver's cursor, which opens the transaction the command was about
    to open anyway, so only ``SELECT 1`` is extra. A dead connection fails it with the driver's disconnect
    error, and the pool replaces it exactly as with the stock ping.
    """
    dialect = engine.sync_engine.dialect

    def do_ping(dbapi_connection: Any) -> bool:
        return DefaultDialect.do_ping(dialect, dbapi_connection)

    dialect.do_ping = do_ping  # type: ignore[method-assign]


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """One session per request or socket message; objects stay usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
