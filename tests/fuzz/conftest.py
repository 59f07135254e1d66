"""A database of the fuzzers' own: generated requests leave odd rows that no other suite should see."""

from __future__ import annotations

import secrets

import pytest

from delete_api import migrate
from tests.support.pg import PostgresHandle


@pytest.fixture(scope="session")
def fuzz_database_url(postgres: PostgresHandle) -> str:
    """A migrated database only the fuzz suites write to."""
    name = f"delete_fuzz_{secrets.token_hex(4)}"
    postgres.ensure_database(name)
    url = postgres.url(name)
    migrate.upgrade(url)
    return url
