"""Fixtures of the account tests: a database of their own, a real SMTP server, and a server that mails to it.

The database is theirs alone so that no other test's server (whose sender writes ``.eml`` files) takes their
mails from the outbox. Every server of these tests sends over ``SMTP_URL`` to the one ``SmtpSink`` (aiosmtpd on
an ephemeral port in the test's event loop) and has a temporary ``DATA_DIR``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from delete_api.resources import random_prefix
from delete_api.settings import Secret
from tests.accounts.support import APP_BASE_URL, MAIL_FROM
from tests.support.pg import PostgresHandle, create_database, fresh_name, pooled_engine
from tests.support.server import RunningServer, run_server
from tests.support.settings import make_settings
from tests.support.smtp import SmtpSink, smtp_sink


@pytest.fixture(scope="session")
def accounts_database_url(postgres: PostgresHandle) -> str:
    """A migrated database only the account tests use."""
    return create_database(postgres, fresh_name("delete_accounts"))


@pytest.fixture(scope="session")
async def accounts_engine(accounts_database_url: str) -> AsyncIterator[AsyncEngine]:
    async with pooled_engine(accounts_database_url, pool_size=5) as engine:
        yield engine


@pytest.fixture(scope="session")
async def sink() -> AsyncIterator[SmtpSink]:
    """The SMTP server every account test's server mails to."""
    async with smtp_sink() as server:
        yield server


@pytest.fixture(scope="module")
async def accounts_server(accounts_database_url: str, redis_url: str, sink: SmtpSink,
                          tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningServer]:
    """An in-process server on the accounts database, mailing to ``sink``."""
    root: Path = tmp_path_factory.mktemp("accounts-server")
    settings = make_settings(accounts_database_url, redis_url, root / "media", data_dir=root / "data",
                             smtp_url=Secret(sink.url), mail_from=MAIL_FROM, app_base_url=APP_BASE_URL,
                             extra={"redis_prefix": random_prefix(), "mail_poll_s": "0.05"})
    async with run_server(settings) as running:
        yield running


@pytest.fixture
async def client(accounts_server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=accounts_server.base_url, timeout=15) as http:
        yield http
