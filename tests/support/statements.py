"""Counting the SQL statements a piece of code sends (round trips), on one connection of an engine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession


async def connection_of(session: AsyncSession) -> Connection:
    """The connection the session's transaction runs on, as the engine's events see it."""
    connection = (await session.connection()).sync_connection
    assert connection is not None
    return connection


@contextmanager
def statements_on(engine: AsyncEngine, connection: Connection) -> Iterator[list[str]]:
    """The SQL statements ``connection`` sends while the block runs (other connections of the engine ignored)."""
    sent: list[str] = []

    def count(conn: Connection, _cursor: Any, statement: str, *_: Any) -> None:
        if conn is connection:
            sent.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
