"""Fixtures of the domain tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from delete_api.database import make_engine


@pytest.fixture
async def own_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine of its own, so that its pool's check-outs are this test's alone."""
    engine = make_engine(database_url)
    yield engine
    await engine.dispose()
