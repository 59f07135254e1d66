"""Statements past SQLAlchemy's per-statement path behave as the session's own statements would."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import String, bindparam, literal_column, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from delete_api.database import make_sessionmaker
from domain.raw_statements import RawStatement
from infra.outages import is_unavailable
from tests.support.statements import connection_of, statements_on

_ECHO = RawStatement("SELECT CAST(:a AS int) + :b::int AS total, :a::text AS again, CAST(:ids AS uuid[]) AS ids, "
                "'10:30' AS clock")


async def test_named_parameters_casts_and_columns_as_attributes(session: AsyncSession) -> None:
    """``:name`` parameters (one used twice) become ``$n`` once; ``::type`` casts and colons in literals stay."""
    ids = [uuid.uuid4(), uuid.uuid4()]
    [row] = await _ECHO.fetch(session, {"a": 2, "b": 40, "ids": ids})
    assert (row.total, row.again, row.ids, row.clock) == (42, "2", ids, "10:30")
    assert _ECHO.names == ["a", "b", "ids"]
    with pytest.raises(AttributeError):
        _ = row.missing


async def test_rows_read_columns_as_the_record_does(session: AsyncSession) -> None:
    """A column named as a tuple method is the column; a name used twice is the one the driver's record gives;
    positions and slices are the columns in order; two statements' rows do not share attributes."""
    statement = RawStatement("SELECT 1 AS n, 7 AS count, 2 AS n, 'x' AS label")
    [row] = await statement.fetch(session, {})
    pooled = await (await session.connection()).get_raw_connection()
    [record] = await pooled.driver_connection.fetch(statement.sql)
    assert (row.n, row.count, row.label) == (record["n"], 7, "x")
    assert (row[0], row[2], row[1:], len(row), list(row)) == (1, 2, (7, 2, "x"), 4, [1, 7, 2, "x"])
    [other] = await RawStatement("SELECT 5 AS total").fetch(session, {})
    assert other.total == 5
    with pytest.raises(AttributeError):
        _ = other.label
    assert await RawStatement("SELECT 1 AS n WHERE false").fetch(session, {}) == []


async def test_it_reads_inside_the_sessions_transaction_and_is_counted(session: AsyncSession,
                                                                       engine: AsyncEngine) -> None:
    """What the session wrote and has not committed is visible; the statement reaches the engine's
    ``before_cursor_execute`` listeners (the round-trip counter, tests counting statements)."""
    await session.execute(text("CREATE TEMPORARY TABLE raw_read_probe (n int) ON COMMIT DROP"))
    await session.execute(text("INSERT INTO raw_read_probe VALUES (7)"))
    probe = RawStatement("SELECT n FROM raw_read_probe WHERE n = :n")
    connection = await connection_of(session)
    with statements_on(engine, connection) as sent:
        rows = await probe.fetch(session, {"n": 7})
    assert [r.n for r in rows] == [7]
    assert sent == [probe.sql]


async def test_a_failing_statement_raises_sqlalchemys_error(session: AsyncSession) -> None:
    """A bad statement fails as it would through ``session.execute``: SQLAlchemy's ProgrammingError."""
    with pytest.raises(ProgrammingError) as failed:
        await RawStatement("SELECT no_such_column FROM users WHERE id = :id").fetch(session, {"id": uuid.uuid4()})
    assert not is_unavailable(failed.value)


async def test_a_connection_gone_is_an_outage_and_leaves_the_pool(engine: AsyncEngine) -> None:
    """PostgreSQL ending the connection mid-read: an error the edge answers as unavailable, and the pool
    replaces the connection, so the next read works."""
    sessions = make_sessionmaker(engine)
    read = RawStatement("SELECT pg_backend_pid() AS pid, CAST(:x AS int) AS x")
    async with sessions() as session:
        [first] = await read.fetch(session, {"x": 1})
        async with engine.connect() as other:
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first.pid})
        with pytest.raises(DBAPIError) as failed:
            await read.fetch(session, {"x": 2})
    assert is_unavailable(failed.value) and failed.value.connection_invalidated
    async with sessions() as session:
        [again] = await read.fetch(session, {"x": 3})
    assert again.x == 3 and again.pid != first.pid


async def test_a_core_statement_keeps_its_literals_and_reads_by_position(session: AsyncSession) -> None:
    """``RawStatement.of`` compiles a Core statement once: the values written into it are sent with it, the
    caller's by name; rows read by position and slice as SQLAlchemy's do."""
    statement = select(literal_column("1").label("one"), bindparam("name", type_=String) + " and " + "Ann")
    raw = RawStatement.of(statement)
    [row] = await raw.fetch(session, {"name": "Ben"})
    assert (row[0], row[1], row[:], len(row)) == (1, "Ben and Ann", (1, "Ben and Ann"), 2)


async def test_a_constraint_violation_is_sqlalchemys_integrity_error(session: AsyncSession) -> None:
    """A write that breaks a constraint fails as through ``session.execute``, so callers that catch
    ``IntegrityError`` keep working."""
    await session.execute(text("CREATE TEMPORARY TABLE raw_unique (n int PRIMARY KEY) ON COMMIT DROP"))
    insert = RawStatement("INSERT INTO raw_unique VALUES (:n) RETURNING n")
    assert [r.n for r in await insert.fetch(session, {"n": 1})] == [1]
    with pytest.raises(IntegrityError):
        await insert.fetch(session, {"n": 1})
