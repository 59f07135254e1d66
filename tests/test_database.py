"""The engine's pooled connections: a connection the server dropped never fails a command."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_cursor
from sqlalchemy.ext.asyncio import AsyncEngine

from delete_api.database import make_engine, make_sessionmaker
from domain.transaction import unit_of_work


async def _backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def test_a_pooled_connection_the_server_terminated_is_replaced_before_a_command_uses_it(
        database_url: str, engine: AsyncEngine) -> None:
    """After a failover or an operator's pg_terminate_backend, the next command still succeeds."""
    mine = make_engine(database_url, pool_size=1, max_overflow=0)
    try:
        first = await _backend_pid(mine)
        async with engine.connect() as admin:
            assert (await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})).scalar_one()
        assert await _backend_pid(mine) != first
    finally:
        await mine.dispose()


async def test_the_checkout_ping_joins_the_transaction_so_a_rollback_still_discards_everything(
        database_url: str, engine: AsyncEngine) -> None:
    """The ping opens the command's transaction; an error in the command leaves no trace of it."""
    mine = make_engine(database_url, pool_size=1, max_overflow=0)
    table = f"ping_probe_{uuid.uuid4().hex[:8]}"
    async with engine.begin() as admin:
        await admin.execute(text(f"CREATE TABLE {table} (n int)"))
    try:
        sessions = make_sessionmaker(mine)
        try:
            async with unit_of_work(sessions) as session:
                await session.execute(text(f"INSERT INTO {table} VALUES (1)"))  # noqa: S608 - our own uuid-named table
                raise LookupError("the command failed after its first write")
        except LookupError:
            pass
        async with unit_of_work(sessions) as session:
            await session.execute(text(f"INSERT INTO {table} VALUES (2)"))  # noqa: S608
        async with engine.connect() as admin:
            rows = (await admin.execute(text(f"SELECT n FROM {table} ORDER BY n"))).scalars().all()  # noqa: S608
        assert rows == [2]
    finally:
        await mine.dispose()
        async with engine.begin() as admin:
            await admin.execute(text(f"DROP TABLE {table}"))


async def test_the_checkout_ping_sends_nothing_of_its_own_on_a_live_connection(
        database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every socket command checks a connection out: a live one costs only the command's own statements."""
    mine = make_engine(database_url, pool_size=1, max_overflow=0)
    sent: list[str] = []
    ours: list[Any] = []  # other engines of the test process (background tasks) are not watched

    @event.listens_for(mine.sync_engine, "connect")
    def log_simple_queries(dbapi_connection: Any, _record: Any) -> None:  # BEGIN, COMMIT, ROLLBACK
        ours.append(dbapi_connection)
        dbapi_connection.driver_connection.add_query_logger(lambda logged: sent.append(logged.query))

    execute = AsyncAdapt_asyncpg_cursor._prepare_and_execute

    async def log_statements(self: Any, operation: str, parameters: Any) -> None:  # what goes through cursors
        await execute(self, operation, parameters)
        if any(self._adapt_connection is connection for connection in ours):
            sent.append(operation)  # after the BEGIN that the execution may have sent first

    monkeypatch.setattr(AsyncAdapt_asyncpg_cursor, "_prepare_and_execute", log_statements)
    sessions = make_sessionmaker(mine)
    try:
        for attempt in range(3):  # the first checkout opens the connection (never pinged), later ones ping it
            sent.clear()
            async with unit_of_work(sessions) as session:
                assert (await session.execute(text("SELECT 41 + 1"))).scalar_one() == 42
            if attempt == 0:
                continue
            assert [q.split()[0].rstrip(";").upper() for q in sent] == ["BEGIN", "SELECT", "COMMIT"], sent
    finally:
        await mine.dispose()
