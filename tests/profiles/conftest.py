"""Helpers for the profile tests: one-shot socket calls as a factory-made person."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from delete_client import ClientError, DeleteClient
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.discovery.signals import discovery_channel
from domain.models import Block
from tests.support.factory import Person, make_person
from tests.support.server import RunningServer


def client(server: RunningServer, person: Person) -> DeleteClient:
    """A socket client for ``person`` (use with ``async with``)."""
    return DeleteClient(server.ws_url + "/v1/ws", person.token)


async def call(server: RunningServer, person: Person, type_: str, data: dict[str, Any] | None = None) -> Any:
    """One command on a fresh socket; the reply's data."""
    async with client(server, person) as c:
        return await c.call(type_, data)


async def refused(server: RunningServer, person: Person, type_: str, data: dict[str, Any] | None = None) -> ClientError:
    """One command that must fail; the error."""
    async with client(server, person) as c:
        with pytest.raises(ClientError) as info:
            await c.call(type_, data)
    return info.value


async def block(engine: AsyncEngine, blocker: Person, blocked: Person) -> None:
    """Insert a block row directly."""
    async with engine.begin() as conn:
        await conn.execute(insert(Block).values(blocker_id=blocker.id, blocked_id=blocked.id))


@pytest.fixture
async def person(engine: AsyncEngine) -> Person:
    """A fresh, complete person (a photo, a quiz, gender and location)."""
    return await make_person(engine)


class Signals:
    """The discovery ``profile_changed`` announcements seen on Redis."""

    def __init__(self, pubsub: aioredis.client.PubSub) -> None:
        self.pubsub = pubsub

    async def received(self, timeout: float = 0.5, *, until: str | None = None) -> list[str]:
        """User ids announced within ``timeout`` seconds (returning early once ``until`` is seen)."""
        seen: list[str] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (left := deadline - loop.time()) > 0:
            message = await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=left)
            if message is None:
                continue
            head, _, body = message["data"].partition(b" ")
            payload = json.loads(body)
            if head == b"C" and payload.get("op") == "profile_changed":
                seen.append(payload["user_id"])
                if payload["user_id"] == until:
                    break
        return seen


@pytest.fixture
async def signals(server: RunningServer, redis_client: aioredis.Redis) -> AsyncIterator[Signals]:
    """A subscription to the server's discovery channel."""
    pubsub = redis_client.pubsub()
    await pubsub.subscribe(discovery_channel(str(server.settings.extra["redis_prefix"])))
    await pubsub.get_message(timeout=1)  # the subscribe confirmation
    try:
        yield Signals(pubsub)
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
