"""Fixtures of the mail tests: a database of their own (no other server's sender takes their rows), an
SMTP server per test, and sender timings in tenths of seconds instead of minutes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from delete_api.database import make_sessionmaker
from tests.support.pg import PostgresHandle, create_database, fresh_name, pooled_engine
from tests.support.smtp import SmtpSink, smtp_sink


@pytest.fixture(scope="session")
def mail_database_url(postgres: PostgresHandle) -> str:
    """A migrated database only the mail tests use."""
    return create_database(postgres, fresh_name("delete_mail"))


@pytest.fixture(scope="session")
async def mail_engine(mail_database_url: str) -> AsyncIterator[AsyncEngine]:
    async with pooled_engine(mail_database_url, pool_size=5) as engine:
        yield engine


@pytest.fixture
async def sessions(mail_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions on the mail database, whose outbox starts empty."""
    async with mail_engine.begin() as conn:
        await conn.execute(text("DELETE FROM mail_outbox"))
    return make_sessionmaker(mail_engine)


@pytest.fixture
async def sink() -> AsyncIterator[SmtpSink]:
    async with smtp_sink() as server:
        yield server
