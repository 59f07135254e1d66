"""Hot reads run on the session's asyncpg connection directly, past SQLAlchemy's per-statement path.

``AsyncSession.execute`` costs 0.25-0.5 ms of CPU per statement before PostgreSQL sees it
(docs/load.md, "CPU per command"): compiling the parameters, the greenlet hop, building
rows. A discovery batch runs two or three tier queries and a card query, so that path was
a quarter of a batch at 100k people. ``RawRead`` keeps the statement's SQL with its named
parameters (``:name``, as ``text()`` has them), converts it once to asyncpg's ``$n``, and
runs it on the connection the session holds, inside the session's transaction, with
asyncpg's own cache of prepared statements. Rows come back with attribute access, as
SQLAlchemy's do. Only for reads whose parameters PostgreSQL can type from the statement
(asyncpg asks the server for them; a list is an array, ``None`` a NULL).

What SQLAlchemy would have done around a statement is done here too: its
``before_cursor_execute`` event fires (the round-trip counter of ``delete_api/database.py``
and the tests that count statements listen to it), and a failure is raised as SQLAlchemy's
exception of the same kind,
the connection invalidated when it is gone, so outage handling (``infra/outages.py``)
and the pool see what they would see for any other statement.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

_NAMED = re.compile(r"(?<![:\w]):(\w+)")  # ``:name``, not a ``::type`` cast


class Row:
    """One asyncpg record, its columns read as attributes (``row.id``)."""

    __slots__ = ("_record",)

    def __init__(self, record: Any) -> None:
        self._record = record

    def __getattr__(self, name: str) -> Any:
        try:
            return self._record[name]
        except KeyError:
            raise AttributeError(name) from None


class RawRead:
    """A read statement with ``:name`` parameters, run by ``fetch`` on a session's asyncpg connection."""

    def __init__(self, sql: str) -> None:
        self.names: list[str] = []
        self.sql = _NAMED.sub(self._number, sql)

    def _number(self, match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in self.names:
            self.names.append(name)
        return f"${self.names.index(name) + 1}"

    async def fetch(self, session: AsyncSession, params: Mapping[str, Any]) -> list[Row]:
        """The rows of the statement with ``params`` (every ``:name`` of it), in ``session``'s transaction."""
        args = [params[name] for name in self.names]
        connection = await session.connection()
        pooled = await connection.get_raw_connection()
        sync = connection.sync_connection
        assert sync is not None  # a connection the session holds is open
        sync.dispatch.before_cursor_execute(sync, None, self.sql, args, None, False)  # counters and tests see it
        adapter: Any = pooled.dbapi_connection
        driver: Any = pooled.driver_connection
        try:
            if not adapter.autocommit and adapter._transaction is None:  # opened as SQLAlchemy's first statement would
                await adapter._start_transaction()
            records = await driver.fetch(self.sql, *args)
        except Exception as exc:
            raise await _translated(connection, adapter, self.sql, args, exc) from exc
        return [Row(record) for record in records]


async def _translated(connection: Any, adapter: Any, sql: str, args: list[Any], exc: Exception) -> BaseException:
    """SQLAlchemy's exception for the driver's ``exc`` (the connection invalidated if it is gone)."""
    try:
        adapter._handle_exception(exc)  # the driver adapter's translation to DB-API errors; always raises
    except Exception as dbapi_error:  # any DB-API error is wrapped below, as SQLAlchemy does
        dialect = connection.dialect
        gone = bool(dialect.is_disconnect(dbapi_error, adapter, None))
        if gone:
            await connection.invalidate(dbapi_error)
        return DBAPIError.instance(sql, args, dbapi_error, dialect.loaded_dbapi.Error, connection_invalidated=gone,
                                   dialect=dialect)
    return exc  # pragma: no cover - _handle_exception always raises
