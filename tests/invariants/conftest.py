"""Two server nodes for the invariant tests: one database, one Redis and one Redis key prefix."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from delete_api.resources import random_prefix
from tests.support.server import RunningServer, run_server
from tests.support.settings import make_settings


@pytest.fixture(scope="module")
async def two_nodes(database_url: str, redis_url: str, tmp_root: Path) -> AsyncIterator[list[RunningServer]]:
    """Nodes A and B: a socket on either reaches every user's devices on both."""
    prefix = random_prefix()
    async with AsyncExitStack() as stack:
        yield [await stack.enter_async_context(run_server(make_settings(
            database_url, redis_url, tmp_root / "media", extra={"redis_prefix": prefix}))) for _ in range(2)]
