"""A database of the fuzzers' own: generated requests leave odd rows that no other suite should see."""

from __future__ import annotations

import pytest

from tests.support.pg import PostgresHandle, create_database, fresh_name


@pytest.fixture(scope="session")
def fuzz_database_url(postgres: PostgresHandle) -> str:
    """A migrated database only the fuzz suites write to."""
    return create_database(postgres, fresh_name("delete_fuzz"))
