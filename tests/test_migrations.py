"""The Alembic migrations: they round-trip, match the models, seed prompts and enforce key rules."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from delete_api import migrate
from delete_api.settings import to_asyncpg_url
from domain.models import Base

UNIQUE_VIOLATION = "23505"
CHECK_VIOLATION = "23514"


async def _scalars(url: str, sql: str) -> list[object]:
    engine = create_async_engine(to_asyncpg_url(url), poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(text(sql))).scalars())
    finally:
        await engine.dispose()


async def _tables(url: str) -> set[object]:
    return set(await _scalars(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))


async def _extensions(url: str) -> set[object]:
    return set(await _scalars(url, "SELECT extname FROM pg_extension"))


async def _functions(url: str) -> set[object]:
    """The server-side functions the migrations make (``delete_...``) that the database holds."""
    return set(await _scalars(url, "SELECT proname FROM pg_proc WHERE proname LIKE 'delete\\_%'"))


@pytest.fixture
async def conn(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection on the migrated database inside a transaction that is rolled back."""
    async with engine.connect() as connection:
        trans = await connection.begin()
        yield connection
        await trans.rollback()


async def _user(conn: AsyncConnection) -> uuid.UUID:
    user_id = uuid.uuid4()
    await conn.execute(
        text("INSERT INTO users (id, email, password_hash, display_name, birthdate) "
             "VALUES (:id, :email, 'x', 'Test', :birthdate)"),
        {"id": user_id, "email": f"{user_id.hex}@example.test", "birthdate": date(1990, 1, 1)},
    )
    return user_id


async def _violation(conn: AsyncConnection, sql: str, params: dict[str, object]) -> str | None:
    """Run ``sql`` in a savepoint and return the SQLSTATE it failed with."""
    savepoint = await conn.begin_nested()
    with pytest.raises(IntegrityError) as caught:
        await conn.execute(text(sql), params)
    await savepoint.rollback()
    return getattr(caught.value.orig, "sqlstate", None)


def test_upgrade_downgrade_upgrade_round_trip(empty_database_url: str) -> None:
    """Upgrading, downgrading to base and upgrading again leaves the full schema in place."""
    migrate.upgrade(empty_database_url)
    migrate.downgrade(empty_database_url, "base")
    tables = asyncio.run(_tables(empty_database_url))
    assert tables <= {"alembic_version"}
    assert "vector" not in asyncio.run(_extensions(empty_database_url))
    assert asyncio.run(_functions(empty_database_url)) == set()  # each downgrade drops the functions it made

    migrate.upgrade(empty_database_url)
    assert {"delete_pass_on", "delete_like", "delete_discovery_tiers"} <= asyncio.run(_functions(empty_database_url))
    tables = asyncio.run(_tables(empty_database_url))
    assert {"users", "matches", "messages", "user_events", "user_traits", "reports", "prompts"} <= tables
    assert set(Base.metadata.tables) <= tables
    assert {"vector", "cube", "earthdistance", "citext"} <= asyncio.run(_extensions(empty_database_url))


async def test_models_and_migrations_agree(engine: AsyncEngine) -> None:
    """After upgrading to head, autogenerate finds no difference between the models and the database."""

    def compare(sync_conn: Connection) -> list[object]:
        context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    async with engine.connect() as connection:
        differences = await connection.run_sync(compare)
    assert differences == []


async def test_prompt_catalogue_is_seeded(conn: AsyncConnection) -> None:
    """The prompt catalogue holds at least 20 prompts with distinct display positions."""
    rows = (await conn.execute(text("SELECT id, text, position FROM prompts"))).all()
    assert len(rows) >= 20
    assert len({row.position for row in rows}) == len(rows)
    assert all(row.text.strip() for row in rows)


async def test_match_pair_is_unique_and_ordered(conn: AsyncConnection) -> None:
    """A pair can match only once, and only with ``user_a < user_b``."""
    low, high = sorted([await _user(conn), await _user(conn)])
    insert = "INSERT INTO matches (id, user_a, user_b) VALUES (gen_random_uuid(), :a, :b)"
    await conn.execute(text(insert), {"a": low, "b": high})

    assert await _violation(conn, insert, {"a": low, "b": high}) == UNIQUE_VIOLATION
    assert await _violation(conn, insert, {"a": high, "b": low}) == CHECK_VIOLATION


async def test_message_client_id_is_unique_per_sender(conn: AsyncConnection) -> None:
    """A sender cannot store two messages with the same ``client_msg_id``."""
    low, high = sorted([await _user(conn), await _user(conn)])
    match_id = uuid.uuid4()
    await conn.execute(text("INSERT INTO matches (id, user_a, user_b) VALUES (:id, :a, :b)"),
                       {"id": match_id, "a": low, "b": high})
    insert = ("INSERT INTO messages (id, match_id, sender_id, body, client_msg_id) "
              "VALUES (gen_random_uuid(), :match_id, :sender, :body, 'c-1')")
    await conn.execute(text(insert), {"match_id": match_id, "sender": low, "body": "hi"})
    # the other member may reuse the same client id
    await conn.execute(text(insert), {"match_id": match_id, "sender": high, "body": "hello"})

    assert await _violation(conn, insert, {"match_id": match_id, "sender": low, "body": "hi again"}) \
        == UNIQUE_VIOLATION


async def test_earth_distance_index_serves_box_queries(conn: AsyncConnection) -> None:
    """The ``ll_to_earth`` GiST index accepts rows and answers an ``earth_box`` search."""
    paris = await _user(conn)
    await conn.execute(text("UPDATE users SET lat = 48.8566, lon = 2.3522 WHERE id = :id"), {"id": paris})
    found = (await conn.execute(
        text("SELECT id FROM users WHERE lat IS NOT NULL "
             "AND earth_box(ll_to_earth(48.85, 2.35), 5000) @> ll_to_earth(lat, lon) "
             "AND earth_distance(ll_to_earth(48.85, 2.35), ll_to_earth(lat, lon)) < 5000"),
    )).scalars().all()
    assert paris in found
