"""Counting the SQL statements a piece of code sends (round trips), on one connection of an engine or on all."""

from __future__ import annotations

from collections import Counter
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


@contextmanager
def round_trips(engine: AsyncEngine) -> Iterator[Counter[str]]:
    """What the engine's listeners hear while the block runs, on every connection: each statement by its first
    word (``SELECT``, ``INSERT``...) and ``begin``, ``commit``, ``rollback``."""
    heard: Counter[str] = Counter()

    def statement(_conn: Connection, _cursor: Any, sql: str, *_: Any) -> None:
        heard[sql.split(None, 1)[0].upper()] += 1

    listeners: dict[str, Any] = {"before_cursor_execute": statement}
    for kind in ("begin", "commit", "rollback"):
        def transaction(*_: Any, _kind: str = kind) -> None:
            heard[_kind] += 1
        listeners[kind] = transaction
    for name, listener in listeners.items():
        event.listen(engine.sync_engine, name, listener)
    try:
        yield heard
    finally:
        for name, listener in listeners.items():
            event.remove(engine.sync_engine, name, listener)
