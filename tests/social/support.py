"""Helpers for the social tests: sockets, seeded likes and what a refusal must not leave behind."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from delete_client import ClientError, DeleteClient
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.models import DailyLikeCount, Like
from tests.support.factory import Person, make_person
from tests.support.server import RunningServer

COMMENT = "I love your hiking photos!"  # 26 characters


def comment(n: int | str) -> str:
    """A distinct, valid comment for like number ``n``."""
    return f"Nice profile, number {n}, say hi?"


@asynccontextmanager
async def online(server: RunningServer, *people: Person) -> AsyncIterator[list[DeleteClient]]:
    """One connected client per person."""
    async with AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(DeleteClient(server.ws_url + "/v1/ws", p.token))
                   for p in people]
        yield clients


async def error_code(client: DeleteClient, command: str, data: dict[str, Any] | None = None) -> ClientError:
    """Call ``command`` expecting an error reply; return it."""
    with pytest.raises(ClientError) as info:
        await client.call(command, data)
    return info.value


async def people(engine: AsyncEngine, n: int, **kwargs: Any) -> list[Person]:
    return [await make_person(engine, **kwargs) for _ in range(n)]


async def seed_likes(engine: AsyncEngine, liker: Person, n: int, *, ago: timedelta = timedelta(minutes=5),
                     count_today: bool = True, spacing: timedelta = timedelta(0),
                     comment_text: str | None = None) -> list[Person]:
    """``n`` likes by ``liker`` on fresh people, made ``ago`` (+ ``spacing`` apart), written straight to the tables."""
    targets = await people(engine, n, photos=0, answers={})
    now = datetime.now(UTC)
    from domain.social.rules import normalise_comment

    async with engine.begin() as conn:
        for i, target in enumerate(targets):
            await conn.execute(insert(Like).values(
                id=uuid.uuid4(), liker_id=liker.id, likee_id=target.id, created_at=now - ago + i * spacing,
                comment=comment_text, comment_norm=normalise_comment(comment_text) if comment_text else None))
        if count_today and n:
            await conn.execute(text(
                "INSERT INTO daily_like_counts (user_id, day, count) VALUES (:u, :d, :n) "
                "ON CONFLICT (user_id, day) DO UPDATE SET count = daily_like_counts.count + :n"),
                {"u": liker.id, "d": now.date(), "n": n})
    return targets


async def set_daily_count(engine: AsyncEngine, person: Person, count: int) -> None:
    """Today's like counter, set directly (no like rows)."""
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM daily_like_counts WHERE user_id = :u"), {"u": person.id})
        await conn.execute(insert(DailyLikeCount).values(user_id=person.id, day=datetime.now(UTC).date(), count=count))


@dataclass(frozen=True)
class Trace:
    """Everything a like could leave behind."""

    likes_sent: int
    likes_received_by_target: int
    daily_count: int
    target_events: int
    matches: int


async def trace(engine: AsyncEngine, liker: Person, target: Person) -> Trace:
    async with engine.connect() as conn:
        row = (await conn.execute(text("""
            SELECT (SELECT count(*) FROM likes WHERE liker_id = :a),
                   (SELECT count(*) FROM likes WHERE likee_id = :b),
                   coalesce((SELECT sum(count) FROM daily_like_counts WHERE user_id = :a), 0),
                   (SELECT count(*) FROM user_events WHERE user_id = :b),
                   (SELECT count(*) FROM matches WHERE user_a IN (:a, :b) OR user_b IN (:a, :b))
        """), {"a": liker.id, "b": target.id})).one()
    return Trace(*(int(v) for v in row))


async def scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar()


async def execute(engine: AsyncEngine, sql: str, **params: Any) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(sql), params)


async def no_event(client: DeleteClient, event_type: str, wait_s: float = 0.3) -> None:
    """Assert that no ``event_type`` event arrives within ``wait_s``."""
    with pytest.raises(TimeoutError):
        await client.next_event(event_type, timeout=wait_s)


async def gather_limited(*aws: Any) -> list[Any]:
    """``asyncio.gather`` with exceptions returned, bounded by a deadline."""
    async with asyncio.timeout(30):
        return list(await asyncio.gather(*aws, return_exceptions=True))
