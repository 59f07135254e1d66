"""Content filter and contact shielding test helpers: sockets closed after each test, patterns taken off after it.

Patterns are made-up words (``fresh_word``) so that no other test's text can hit them, and every pattern a
test adds is removed when it ends (the session server shares the database with the whole suite).
"""

from __future__ import annotations

import secrets
import string
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import pytest
from delete_client import ClientError, DeleteClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.factory import Person
from tests.support.server import RunningServer

Connect = Callable[[Person], Awaitable[DeleteClient]]


def fresh_word(stem: str = "zorb") -> str:
    """A word nobody writes: ``stem`` and six random letters."""
    return stem + "".join(secrets.choice(string.ascii_lowercase) for _ in range(6))


@pytest.fixture
async def connect(server: RunningServer) -> AsyncIterator[Connect]:
    async with AsyncExitStack() as stack:
        async def open_client(person: Person) -> DeleteClient:
            return await stack.enter_async_context(DeleteClient(server.ws_url + "/v1/ws", person.token))

        yield open_client


@pytest.fixture
async def cleanup_words(engine: AsyncEngine) -> AsyncIterator[list[str]]:
    """Ids of patterns a test added; they are taken off the list afterwards."""
    ids: list[str] = []
    yield ids
    if ids:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE word_patterns SET removed_at = now() WHERE id = ANY(CAST(:ids AS uuid[])) "
                                    "AND removed_at IS NULL"), {"ids": ids})


async def add_word(client: DeleteClient, pattern: str, action: str, ids: list[str]) -> dict[str, Any]:
    """``moderation.words.add`` on the moderator's socket; the word's id is kept for clean-up."""
    reply = await client.call("moderation.words.add", {"pattern": pattern, "action": action})
    ids.append(reply["word"]["id"])
    return reply["word"]


async def refusal(client: DeleteClient, type_: str, data: dict[str, Any]) -> ClientError:
    """Send a command that must fail; the error."""
    with pytest.raises(ClientError) as caught:
        await client.call(type_, data)
    return caught.value


async def scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar_one()


def cmid() -> str:
    return uuid.uuid4().hex
