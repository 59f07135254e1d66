"""Engine and session factory for the service's PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine.default import DefaultDialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.util.concurrency import await_

from delete_api.settings import to_asyncpg_url
from domain.events import wire
from infra import metrics


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
        json_deserializer=wire.loads_stored,  # json and jsonb columns read by orjson (json where they differ)
        connect_args={"command_timeout": 15, "server_settings": {"application_name": "delete-api"}},
    )
    _ping_with_the_begin(engine)
    _count_round_trips(engine)
    return engine


def _count_round_trips(engine: AsyncEngine) -> None:
    """Count every statement, BEGIN, COMMIT and ROLLBACK in ``delete_db_round_trips_total`` (benchmarks read it)."""
    for kind, name in (("statement", "before_cursor_execute"), ("begin", "begin"), ("commit", "commit"),
                       ("rollback", "rollback")):
        child = metrics.db_round_trips.labels(kind)

        def count(*_: Any, _child: Any = child) -> None:
            _child.inc()

        event.listen(engine.sync_engine, name, count)


def _ping_with_the_begin(engine: AsyncEngine) -> None:
    """Make the checkout ping the BEGIN of the command's own transaction: no round trip of its own.

    SQLAlchemy's asyncpg ping wraps ``;`` in its own BEGIN and ROLLBACK (for pgbouncer's transaction mode,
    which we do not use): three round trips on every checkout, i.e. on every socket command. Here the ping
    opens the transaction the command is about to open anyway (the driver adapter's ``_start_transaction``,
    the same call its first statement would make), so a live connection costs nothing extra, and a dead
    one fails that BEGIN with the driver's disconnect error: the pool replaces it before the command runs,
    exactly as with the stock ping. A connection in autocommit mode has no transaction to open and is
    pinged with ``SELECT 1``.
    """
    dialect = engine.sync_engine.dialect
    assert isinstance(dialect, DefaultDialect)  # asyncpg's dialect, like every concrete one, is a DefaultDialect

    def do_ping(dbapi_connection: Any) -> bool:
        if dbapi_connection.autocommit:
            return DefaultDialect.do_ping(dialect, dbapi_connection)
        if dbapi_connection._transaction is None:  # the adapter's own BEGIN, see the docstring
            await_(dbapi_connection._start_transaction())
        return True

    dialect.do_ping = do_ping  # type: ignore[method-assign]  # patching this engine's dialect instance on purpose


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """One session per request or socket message; objects stay usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
