"""Hot statements run on the session's asyncpg connection directly, past SQLAlchemy's per-statement path.

``AsyncSession.execute`` costs 0.25-0.5 ms of CPU per statement before PostgreSQL sees it
(docs/load.md, "CPU per command"): compiling the parameters, the greenlet hop, building
rows. A discovery batch runs two or three tier queries and a card query, and a pass two
statements, so that path was a large part of both. ``RawStatement`` holds the statement's
SQL in asyncpg's ``$n`` form, made once: from SQL with named parameters (``:name``, as
``text()`` has them) or from a Core statement compiled for the asyncpg dialect (its literal
values become default parameters), and runs it on the connection the session holds,
inside the session's transaction, with asyncpg's own cache of prepared statements. Rows
come back with attribute and positional access, as SQLAlchemy's do. Parameters must be
values asyncpg sends as they are (PostgreSQL types them from the statement; a list is an
array, ``None`` a NULL, a ``timedelta`` an interval): no SQLAlchemy type processing runs.

What SQLAlchemy would have done around a statement is done here too: its
``before_cursor_execute`` event fires (the round-trip counter of ``delete_api/database.py``
and the tests that count statements listen to it), and a failure is raised as SQLAlchemy's
exception of the same kind (an ``IntegrityError`` stays one), the connection invalidated when
it is gone, so outage handling (``infra/outages.py``) and the pool see what they would see
for any other statement.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

_ASYNCPG = asyncpg_dialect()  # type: ignore[no-untyped-call]  # the dialect class has no annotations
_NAMED = re.compile(r"(?<![:\w]):(\w+)")  # ``:name``, not a ``::type`` cast


class Row(tuple[Any, ...]):
    """One row: its columns read as attributes (``row.id``) or by position (``row[0]``, ``row[1:]``).

    Each statement's rows are of a subclass with one property per column (``_row_class``), made once per set
    of column names: an attribute is then an ordinary lookup (a ``__getattr__`` on every read cost ~2 % of a
    busy node's CPU, most of it in the cards' columns). A name that is no column raises ``AttributeError``.
    """

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:  # reached only for a name that is not a column
        raise AttributeError(name)


@functools.cache
def _row_class(names: tuple[str, ...]) -> type[Row]:
    """The row class of a statement's columns; a name used twice reads the last such column, as asyncpg's
    record does."""
    position = {name: i for i, name in enumerate(names)}
    columns = {name: property(operator.itemgetter(i)) for name, i in position.items()
               if name.isidentifier() and not (name.startswith("__") and name.endswith("__"))}
    return type("Row", (Row,), {"__slots__": (), **columns})


def _rows(records: list[Any]) -> list[Row]:
    if not records:
        return []
    row = _row_class(tuple(records[0].keys()))
    return [row(record) for record in records]


class RawStatement:
    """A statement with ``:name`` parameters, run by ``fetch`` on a session's asyncpg connection."""

    def __init__(self, sql: str) -> None:
        self.names: list[str] = []
        self.defaults: dict[str, Any] = {}
        self.sql = _NAMED.sub(self._number, sql)

    @classmethod
    def of(cls, statement: ClauseElement) -> RawStatement:
        """A Core statement, compiled once for asyncpg; the values written into it become default parameters."""
        compiled = statement.compile(dialect=_ASYNCPG)
        assert isinstance(compiled, SQLCompiler)  # a statement compiles to SQL, with asyncpg's positional $n
        raw = cls.__new__(cls)
        raw.sql = compiled.string
        raw.names = list(compiled.positiontup or ())
        raw.defaults = {k: v for k, v in compiled.params.items() if v is not None}
        return raw

    def _number(self, match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in self.names:
            self.names.append(name)
        return f"${self.names.index(name) + 1}"

    async def fetch(self, session: AsyncSession, params: Mapping[str, Any]) -> list[Row]:
        """The rows of the statement with ``params`` (every ``:name`` of it), in ``session``'s transaction."""
        return await self.fetch_on(await session.connection(), params)

    async def fetch_on(self, connection: AsyncConnection, params: Mapping[str, Any]) -> list[Row]:
        """The rows on ``connection``: in its transaction (one is opened as SQLAlchemy would), or on its own
        when the connection is in autocommit mode."""
        args = [params[name] if name in params else self.defaults[name] for name in self.names]
        sync = connection.sync_connection
        assert sync is not None  # a connection the session holds is open
        # an open, valid connection's pooled connection is read as it is; SQLAlchemy's awaitable (which reconnects
        # an invalidated one) runs in a new greenlet, and on Python 3.11 each greenlet maps and unmaps a 16-KiB
        # frame stack: a hop on every statement was ~2 % of a busy node's CPU (docs/load.md, "Ninth session")
        pooled = sync.connection if not sync.invalidated else await connection.get_raw_connection()
        sync.dispatch.before_cursor_execute(sync, None, self.sql, args, None, False)  # counters and tests see it
        adapter: Any = pooled.dbapi_connection
        driver: Any = pooled.driver_connection
        try:
            if not adapter.autocommit and adapter._transaction is None:  # opened as SQLAlchemy's first statement would
                await adapter._start_transaction()
            records = await driver.fetch(self.sql, *args)
        except Exception as exc:
            raise await _translated(connection, adapter, self.sql, args, exc) from exc
        return _rows(records)


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



Fetch = Callable[[RawStatement, Mapping[str, Any]], Awaitable[list[Row]]]
"""Runs one statement and returns its rows; ``ReadSessions.fetch_alone`` runs it alone in autocommit (its own
transaction) on a kept connection."""
