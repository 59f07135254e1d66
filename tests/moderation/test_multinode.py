"""Moderation across two server nodes sharing one database, one Redis and one key prefix."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from delete_api.resources import random_prefix
from domain.events.log import EventLog
from tests.moderation.support import client, closed_with, make_report, moderator, publish_report, ws
from tests.support.events import event_log
from tests.support.factory import make_person
from tests.support.server import RunningServer, run_server
from tests.support.settings import make_settings


@pytest.fixture(scope="module")
async def two_nodes(database_url: str, redis_url: str,
                    tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[RunningServer, RunningServer]]:
    """Nodes A and B in this process: same database, Redis and prefix, so they are one deployment."""
    prefix = random_prefix()
    media: Path = tmp_path_factory.mktemp("moderation-media")
    settings = [make_settings(database_url, redis_url, media, extra={"redis_prefix": prefix}) for _ in range(2)]
    async with run_server(settings[0]) as a, run_server(settings[1]) as b:
        yield a, b


@pytest.fixture
async def log(two_nodes: tuple[RunningServer, RunningServer], redis_url: str) -> AsyncIterator[EventLog]:
    async with event_log(redis_url, str(two_nodes[0].settings.extra["redis_prefix"])) as shared:
        yield shared


async def test_a_ban_on_node_a_closes_the_users_socket_on_node_b(two_nodes: tuple[RunningServer, RunningServer],
                                                                 engine: AsyncEngine) -> None:
    """The banned user's socket on the other node gets account.suspended, then close 4403."""
    a, b = two_nodes
    mod, target = await moderator(engine), await make_person(engine)
    report_id = await make_report(engine, await make_person(engine), target, reason="spam")
    async with client(ws(b), target) as user, client(ws(a), mod) as c:
        await c.call("moderation.resolve", {"report_id": str(report_id), "action": "ban", "note": "bot"})
        event = await user.next_event()
        assert event["type"] == "account.suspended" and event["data"] == {"reason": "spam"}
        assert await closed_with(user) == 4403


async def test_moderators_on_two_nodes_share_the_feed(two_nodes: tuple[RunningServer, RunningServer],
                                                      engine: AsyncEngine, log: EventLog) -> None:
    """Both subscribed moderators see a new report and each other's resolutions live, whatever their node."""
    a, b = two_nodes
    alice, bob = await moderator(engine, "Alice"), await moderator(engine, "Bob")
    reporter, target = await make_person(engine), await make_person(engine)
    async with client(ws(a), alice) as on_a, client(ws(b), bob) as on_b:
        snap_a = await on_a.call("moderation.subscribe")
        snap_b = await on_b.call("moderation.subscribe")
        assert snap_a["counts"] == snap_b["counts"]
        report_id = await make_report(engine, reporter, target, reason="harassment")
        entry = await publish_report(engine, log, report_id)
        for dashboard in (on_a, on_b):
            event = await dashboard.next_event("moderation.report")
            assert event["data"]["report"] == entry

        await on_b.call("moderation.resolve", {"report_id": str(report_id), "action": "warn", "note": "mild"})
        expected = {"report_id": str(report_id), "action": "warn", "moderator_id": str(bob.id)}
        for dashboard in (on_a, on_b):
            event = await dashboard.next_event("moderation.resolved")
            assert event["data"] == expected and "seq" not in event


async def test_a_user_who_is_not_subscribed_gets_no_feed(two_nodes: tuple[RunningServer, RunningServer],
                                                         engine: AsyncEngine, log: EventLog) -> None:
    """A moderator socket that has not subscribed receives no moderation events."""
    a, _ = two_nodes
    mod = await moderator(engine)
    async with client(ws(a), mod) as idle:
        await publish_report(engine, log, await make_report(engine, await make_person(engine),
                                                            await make_person(engine)))
        with pytest.raises(TimeoutError):
            await idle.next_event("moderation.report", timeout=0.5)
