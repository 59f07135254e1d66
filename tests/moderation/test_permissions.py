"""Moderator commands are refused to everyone else, including a moderator demoted after connecting."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

import realtime.commands  # noqa: F401  (fills the registry)
from domain.events.log import EventLog
from realtime.registry import REGISTRY
from tests.moderation.support import client, error_code, make_report, moderator, publish_report, ws
from tests.support.events import event_log as shared_event_log
from tests.support.factory import make_person
from tests.support.server import RunningServer

# a well-formed input for every moderator command: a refusal must come from the role, not from validation
SAMPLES: dict[str, dict[str, Any]] = {
    "moderation.subscribe": {},
    "moderation.user": {"user_id": str(uuid.uuid4())},
    "moderation.resolve": {"report_id": str(uuid.uuid4()), "action": "dismiss", "note": "n"},
    "moderation.remove_photo": {"user_id": str(uuid.uuid4()), "photo_id": str(uuid.uuid4()), "note": "n"},
    "moderation.remove_prompt": {"user_id": str(uuid.uuid4()), "prompt_id": "two_truths", "note": "n"},
    "moderation.search": {"query": "sam"},
    "moderation.act": {"user_id": str(uuid.uuid4()), "action": "reinstate", "note": "n"},
    "moderation.stats": {},
    "moderation.photos.subscribe": {"order": "newest", "limit": 10},
    "moderation.photos.review": {"photo_id": str(uuid.uuid4()), "decision": "reject", "reason": "nudity"},
    "moderation.words.list": {},
    "moderation.words.add": {"pattern": "forbiddenword", "action": "block"},
    "moderation.words.remove": {"id": str(uuid.uuid4())},
}


def moderator_commands() -> list[str]:
    return sorted(t for t, c in REGISTRY.commands.items() if c.role == "moderator")


@pytest.fixture
async def event_log(server: RunningServer, redis_url: str) -> AsyncIterator[EventLog]:
    async with shared_event_log(redis_url, str(server.settings.extra["redis_prefix"])) as log:
        yield log


async def test_every_moderation_command_needs_the_moderator_role() -> None:
    """Every command in the moderation. namespace is registered moderator-only, and each has a test sample."""
    namespace = sorted(t for t in REGISTRY.commands if t.startswith("moderation."))
    assert namespace and namespace == moderator_commands()
    assert set(SAMPLES) == set(moderator_commands()), "add a sample input for the new moderator command"


@pytest.mark.parametrize("command", moderator_commands())
async def test_a_normal_user_is_forbidden(server: RunningServer, engine: AsyncEngine, command: str) -> None:
    """A normal user's token gets `forbidden` for each moderator command (generated from the registry)."""
    user = await make_person(engine)
    async with client(ws(server), user) as c:
        assert await error_code(c, command, SAMPLES[command]) == "forbidden"
        assert await error_code(c, command, {}) == "forbidden"  # the role is checked before the input


async def test_a_demoted_moderator_is_forbidden_at_once(server: RunningServer, engine: AsyncEngine) -> None:
    """A moderator demoted while connected gets `forbidden` on the same socket for every moderator command."""
    mod = await moderator(engine)
    async with client(ws(server), mod) as c:
        await c.call("moderation.subscribe")
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE users SET role = 'user' WHERE id = :id"), {"id": mod.id})
        for command in moderator_commands():
            assert await error_code(c, command, SAMPLES[command]) == "forbidden", command


async def test_a_refused_subscribe_starts_no_feed(server: RunningServer, engine: AsyncEngine,
                                                  event_log: EventLog) -> None:
    """A demoted moderator's refused subscribe does not start the live report feed on that socket."""
    mod = await moderator(engine)
    reporter, reported = await make_person(engine), await make_person(engine)
    async with client(ws(server), mod) as c:
        async with engine.begin() as conn:  # demoted after the socket authenticated as a moderator
            await conn.execute(text("UPDATE users SET role = 'user' WHERE id = :id"), {"id": mod.id})
        assert await error_code(c, "moderation.subscribe", {}) == "forbidden"
        await publish_report(engine, event_log, await make_report(engine, reporter, reported))
        with pytest.raises(TimeoutError):
            await c.next_event("moderation.report", timeout=0.5)


async def test_a_moderator_subscribing_gets_the_feed(server: RunningServer, engine: AsyncEngine,
                                                     event_log: EventLog) -> None:
    """The control case of the test above: after subscribe a published report arrives live."""
    mod = await moderator(engine)
    reporter, reported = await make_person(engine), await make_person(engine)
    async with client(ws(server), mod) as c:
        await c.call("moderation.subscribe")
        entry = await publish_report(engine, event_log, await make_report(engine, reporter, reported))
        event = await c.next_event("moderation.report")
        assert event["data"] == {"report": entry}
        assert "seq" not in event


async def test_a_moderator_cannot_resolve_a_report_about_themselves(server: RunningServer,
                                                                    engine: AsyncEngine) -> None:
    """A report about a moderator can only be resolved by another moderator."""
    mod, other = await moderator(engine), await moderator(engine, "Other")
    report_id = await make_report(engine, await make_person(engine), mod)
    async with client(ws(server), mod) as c, client(ws(server), other) as d:
        data = {"report_id": str(report_id), "action": "dismiss", "note": "not me"}
        assert await error_code(c, "moderation.resolve", data) == "forbidden"
        await d.call("moderation.resolve", data)
