"""Chat test helpers: people with a match, sockets closed after each test, collecting events."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import pytest
from delete_client import DeleteClient
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.models import Block, Match, Message
from tests.support.factory import Person, make_match, make_person
from tests.support.server import RunningServer

WAIT_S = 10.0

Connect = Callable[[Person], Awaitable[DeleteClient]]


@dataclass(frozen=True)
class Pair:
    """Two matched people."""

    a: Person
    b: Person
    match_id: uuid.UUID

    @property
    def mid(self) -> str:
        return str(self.match_id)


async def make_pair(engine: AsyncEngine, state: str = "active") -> Pair:
    a = await make_person(engine, name="Alex")
    b = await make_person(engine, name="Blake")
    return Pair(a, b, await make_match(engine, a, b, state=state))


@pytest.fixture
async def connect(server: RunningServer) -> AsyncIterator[Connect]:
    """Open a socket (a ``DeleteClient``) for a person; every one is closed after the test."""
    async with AsyncExitStack() as stack:
        async def open_client(person: Person) -> DeleteClient:
            return await stack.enter_async_context(DeleteClient(server.ws_url + "/v1/ws", person.token))

        yield open_client


async def events_until(client: DeleteClient, done: Callable[[dict[str, Any]], bool],
                       timeout: float = WAIT_S) -> list[dict[str, Any]]:
    """Every event up to and including the first one ``done`` accepts, in arrival order."""
    got: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        async for event in client.events():
            got.append(event)
            if done(event):
                return got
    raise AssertionError("event stream ended")


def message_with(body: str) -> Callable[[dict[str, Any]], bool]:
    """Matches the ``message.created`` event of the message with ``body``."""
    return lambda e: e["type"] == "message.created" and e["data"]["message"]["body"] == body


async def block(engine: AsyncEngine, blocker: Person, blocked: Person) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(Block).values(blocker_id=blocker.id, blocked_id=blocked.id))


async def set_state(engine: AsyncEngine, match_id: uuid.UUID, state: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(Match.__table__.update().where(Match.id == match_id).values(state=state))


async def match_row(engine: AsyncEngine, match_id: uuid.UUID) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(select(Match).where(Match.id == match_id))).one()


async def message_count(engine: AsyncEngine, match_id: uuid.UUID) -> int:
    async with engine.connect() as conn:
        stmt = select(func.count()).select_from(Message).where(Message.match_id == match_id)
        return int((await conn.execute(stmt)).scalar_one())
