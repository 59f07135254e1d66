"""moderation.stats after a scripted day of activity, on a database of its own and two nodes.

The script makes signups (REST and rows), matches (mutual likes over the socket and a row), messages (over
the socket), reports (the report command and rows), resolutions (moderation.resolve, and rows a week or more
old), photos and online sockets on both nodes, some of them before 00:00 UTC; every figure is compared to
what the script did.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from delete_client import DeleteClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from delete_api.resources import random_prefix
from domain.moderation.stats import day_start
from tests.moderation.support import make_report, moderator
from tests.support.factory import Person, make_match, make_person
from tests.support.pg import PostgresHandle, create_database, fresh_name, pooled_engine
from tests.support.server import RunningServer, run_server
from tests.support.settings import make_settings
from tests.support.users import signup


@dataclass
class Deployment:
    a: RunningServer
    b: RunningServer
    engine: AsyncEngine


@pytest.fixture(scope="module")
def stats_database_url(postgres: PostgresHandle) -> str:
    """A migrated database of this module's own (migrating runs its own event loop: a plain fixture)."""
    return create_database(postgres, fresh_name("delete_stats"))


@pytest.fixture(scope="module")
async def deployment(stats_database_url: str, redis_url: str,
                     tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Deployment]:
    """Two nodes on a database and a Redis prefix nobody else uses, so the figures are the script's alone."""
    url = stats_database_url
    prefix = random_prefix()
    media: Path = tmp_path_factory.mktemp("stats-media")
    settings = [make_settings(url, redis_url, media, extra={"redis_prefix": prefix}) for _ in range(2)]
    async with pooled_engine(url, pool_size=2) as engine, run_server(settings[0]) as a, run_server(settings[1]) as b:
        yield Deployment(a, b, engine)


def ws(server: RunningServer) -> str:
    return server.ws_url + "/v1/ws"


async def execute(engine: AsyncEngine, sql: str, **params: Any) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(sql), params)


async def stats(server: RunningServer, mod: Person, online: int = 1) -> dict[str, Any]:
    async with DeleteClient(ws(server), mod.token, auto_resume=False) as c:
        return await stats_when_online(c, online)


async def stats_when_online(desk: DeleteClient, online: int) -> dict[str, Any]:
    """``moderation.stats`` once ``online`` people are counted (a socket is counted just after its hello, and
    uncounted just after it closes); the last answer if that does not happen within 5 s."""
    for _ in range(50):
        figures: dict[str, Any] = await desk.call("moderation.stats")
        if figures["online_users"] == online:
            break
        await asyncio.sleep(0.1)
    return figures


async def test_stats_count_a_scripted_day(deployment: Deployment) -> None:
    a, b, engine = deployment.a, deployment.b, deployment.engine
    now = datetime.now(UTC)
    today = day_start(now)
    if now - today < timedelta(minutes=1) or today + timedelta(days=1) - now < timedelta(minutes=2):
        pytest.skip("too close to 00:00 UTC for 'today' to hold during the test")
    before_midnight = today - timedelta(minutes=5)

    mod = await moderator(engine)
    empty = await stats(a, mod)
    # the moderator is the one person online (the asking socket) and signed up today, with one photo pending
    assert empty == {"online_users": 1, "signups_today": 1, "matches_today": 0, "messages_today": 0,
                     "open_reports": 0, "photos_pending": 1, "median_resolution_s_7d": None}

    # -- yesterday: none of it counts as today --------------------------------------------------------------------
    old1 = await make_person(engine, name="Olga", created_at=before_midnight, photos=0)
    old2 = await make_person(engine, name="Otto", created_at=before_midnight, photos=0)
    old_match = await make_match(engine, old1, old2, matched_at=before_midnight)
    for i in range(2):
        await execute(engine, "INSERT INTO messages (id, match_id, sender_id, body, client_msg_id, created_at) "
                              "VALUES (:id, :m, :s, 'late night', :c, :t)",
                      id=uuid.uuid4(), m=old_match, s=old1.id, c=f"old-{i}", t=before_midnight)
    # resolved 8 days ago: outside the 7-day window; resolved 6 days ago after 100 s: inside
    outside = await make_report(engine, old1, old2, created_at=now - timedelta(days=9), resolution="dismiss")
    await execute(engine, "UPDATE reports SET resolved_at = :t WHERE id = :id", t=now - timedelta(days=8), id=outside)
    inside = await make_report(engine, old2, old1, created_at=now - timedelta(days=6), resolution="warn")
    await execute(engine, "UPDATE reports SET resolved_at = created_at + interval '100 seconds' WHERE id = :id",
                  id=inside)

    # -- today: signups -----------------------------------------------------------------------------------------------
    async with httpx.AsyncClient(base_url=b.base_url, timeout=10) as http:
        for name in ("Sue", "Sid"):
            await signup(http, display_name=name)
    alice, bob = await make_person(engine, name="Alice"), await make_person(engine, name="Bob", gender="man")
    carol, dan = await make_person(engine, name="Carol"), await make_person(engine, name="Dan")
    signups = 1 + 2 + 4  # the moderator, two REST signups, four rows

    # -- today: matches and messages (sockets on both nodes; every one closed afterwards) --------------------------
    async with DeleteClient(ws(a), alice.token, auto_resume=False) as al, \
            DeleteClient(ws(b), bob.token, auto_resume=False) as bo:
        await al.call("like", {"user_id": str(bob.id), "comment": "Lovely profile, coffee?"})
        liked = await bo.call("like", {"user_id": str(alice.id), "comment": "Gladly, this Sunday?"})
        match_ab = liked["match"]["id"]
        for i, (sender, body) in enumerate(((al, "hi"), (al, "how are you"), (bo, "good, you?"))):
            await sender.call("messages.send", {"match_id": match_ab, "body": body, "client_msg_id": f"m{i}"})
    match_cd = await make_match(engine, carol, dan)
    async with DeleteClient(ws(b), carol.token, auto_resume=False) as ca:
        await ca.call("messages.send", {"match_id": str(match_cd), "body": "hello Dan", "client_msg_id": "c1"})
        await ca.call("messages.send", {"match_id": str(match_cd), "body": "hello Dan", "client_msg_id": "c1"})  # retry
    matches, messages = 2, 4

    # -- today: reports and resolutions ----------------------------------------------------------------------------
    async with DeleteClient(ws(a), alice.token, auto_resume=False) as al, \
            DeleteClient(ws(b), bob.token, auto_resume=False) as bo:
        await al.call("report", {"user_id": str(old1.id), "reason": "spam"})
        await bo.call("report", {"user_id": str(old1.id), "reason": "harassment"})
    await make_report(engine, alice, old1, reason="other")  # the same pair again: still one queue entry
    an_hour = await make_report(engine, carol, old2, created_at=now - timedelta(hours=1))
    three_hours = await make_report(engine, dan, old2, created_at=now - timedelta(hours=3))
    async with DeleteClient(ws(b), mod.token, auto_resume=False) as desk:
        for report_id in (an_hour, three_hours):
            await desk.call("moderation.resolve", {"report_id": str(report_id), "action": "dismiss", "note": "ok"})
    open_pairs = 2  # alice→old1 (twice), bob→old1

    # -- now: who is online, across both nodes -------------------------------------------------------------------
    async with AsyncExitStack() as stack:
        async def online(server: RunningServer, person: Person) -> DeleteClient:
            return await stack.enter_async_context(DeleteClient(ws(server), person.token, auto_resume=False))

        await online(a, alice)
        await online(a, alice)  # a second device: still one person
        await online(b, bob)
        carol_sockets = [await online(a, carol), await online(b, carol)]
        desk = await online(a, mod)
        figures = await stats_when_online(desk, 4)
        assert figures["online_users"] == 4  # alice, bob, carol, the moderator
        for sock in carol_sockets:
            await sock.close()
        after = await stats_when_online(desk, 3)
        assert after["online_users"] == 3  # carol's last socket closed: she is offline at once, not after a TTL
        from_b = await stats(b, mod, 3)  # the other node sees the same people (the moderator twice: one person)
        assert from_b["online_users"] == 3

    photos = 1 + 4  # factory people get one photo each (pending review); old1 and old2 have none
    assert {k: v for k, v in figures.items() if k != "median_resolution_s_7d"} == {
        "online_users": 4, "signups_today": signups, "matches_today": matches, "messages_today": messages,
        "open_reports": open_pairs, "photos_pending": photos}
    median = figures["median_resolution_s_7d"]
    assert 3600 <= median <= 3600 + 60, median  # of 100 s, ~1 h and ~3 h; the one 8 days ago is left out
    assert datetime.now(UTC) < today + timedelta(days=1), "the day changed during the test"
