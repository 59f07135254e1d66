"""badges.list and compatibility.get over the socket: numbers for known pairs, who may be looked at."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.compatibility.traits import TRAIT_KEYS
from domain.models import User
from tests.profiles.conftest import block, call, refused
from tests.support.factory import Person, make_person
from tests.support.server import RunningServer

COMMANDS = ["badges.list", "compatibility.get"]


def quiz(*values: int) -> dict[str, int]:
    return dict(zip(TRAIT_KEYS, values, strict=True))


async def test_known_pair_gives_the_contract_numbers(server: RunningServer, engine: AsyncEngine) -> None:
    """Differences 1,2,0,3,0,4 (sum 10) score 58, 'some differences', labels by difference, 3 highlights."""
    me = await make_person(engine, answers=quiz(1, 2, 3, 4, 5, 1))
    other = await make_person(engine, answers=quiz(2, 4, 3, 1, 5, 5))
    reply = await call(server, me, "compatibility.get", {"user_id": other.key})
    assert reply == {
        "score": 58,
        "summary": "some differences",
        "traits": [
            {"trait": "introvert_extrovert", "difference": 1, "label": "similar"},
            {"trait": "planner_spontaneous", "difference": 2, "label": "different"},
            {"trait": "conflict_talk_space", "difference": 0, "label": "aligned"},
            {"trait": "together_alone_time", "difference": 3, "label": "opposite"},
            {"trait": "slow_quick_decisions", "difference": 0, "label": "aligned"},
            {"trait": "routine_novelty", "difference": 4, "label": "opposite"},
        ],
        "highlights": ["both balanced on conflict / talk / space", "both lean decisive", "both lean introvert"],
    }
    assert (await call(server, other, "compatibility.get", {"user_id": me.key}))["score"] == 58  # symmetric


async def test_identical_answers_score_100(server: RunningServer, engine: AsyncEngine) -> None:
    """The same answers are 100, 'very compatible', every trait aligned, at most three highlights."""
    me = await make_person(engine, answers=quiz(1, 1, 5, 5, 2, 4))
    other = await make_person(engine, answers=quiz(1, 1, 5, 5, 2, 4))
    reply = await call(server, me, "compatibility.get", {"user_id": other.key})
    assert (reply["score"], reply["summary"]) == (100, "very compatible")
    assert {t["label"] for t in reply["traits"]} == {"aligned"}
    assert reply["highlights"] == ["both lean introvert", "both lean planner", "both lean space taker"]


async def test_missing_quiz_counts_as_three_everywhere(server: RunningServer, engine: AsyncEngine) -> None:
    """Someone without a quiz counts as 3 on every trait: against all 1s that is 50 with no highlights."""
    me = await make_person(engine, answers={})
    other = await make_person(engine, answers=quiz(1, 1, 1, 1, 1, 1))
    reply = await call(server, me, "compatibility.get", {"user_id": other.key})
    assert (reply["score"], reply["summary"], reply["highlights"]) == (50, "some differences", [])
    assert {(t["difference"], t["label"]) for t in reply["traits"]} == {(2, "different")}


async def test_compatibility_with_yourself_is_a_validation_error(server: RunningServer, person: Person) -> None:
    """compatibility.get with your own id is a validation_error on user_id."""
    err = await refused(server, person, "compatibility.get", {"user_id": person.key})
    assert (err.code, set(err.details["fields"])) == ("validation_error", {"user_id"})


@pytest.mark.parametrize("command", COMMANDS)
async def test_user_id_must_be_a_uuid(server: RunningServer, person: Person, command: str) -> None:
    """A malformed user_id is a validation_error naming it."""
    err = await refused(server, person, command, {"user_id": "not-a-uuid"})
    assert (err.code, set(err.details["fields"])) == ("validation_error", {"user_id"})


async def test_badges_of_yourself_and_of_another_user(server: RunningServer, engine: AsyncEngine) -> None:
    """badges.list without user_id (or with your own) gives yours; with another id gives theirs, quiz order."""
    me = await make_person(engine, answers=quiz(5, 3, 3, 3, 3, 1))
    other = await make_person(engine, answers=quiz(3, 4, 2, 3, 3, 3))
    assert await call(server, me, "badges.list") == {"badges": ["extrovert", "homebody"]}
    assert await call(server, me, "badges.list", {"user_id": me.key}) == {"badges": ["extrovert", "homebody"]}
    assert await call(server, me, "badges.list", {"user_id": other.key}) == {"badges": ["spontaneous", "talker"]}


async def _set_status(engine: AsyncEngine, person: Person, status: str, until: datetime | None = None) -> None:
    async with engine.begin() as conn:
        await conn.execute(update(User).where(User.id == person.id).values(status=status, suspended_until=until))


Hide = Callable[[AsyncEngine, Person, Person], Awaitable[None]]


async def _blocked_by_me(engine: AsyncEngine, me: Person, other: Person) -> None:
    await block(engine, me, other)


async def _blocked_me(engine: AsyncEngine, me: Person, other: Person) -> None:
    await block(engine, other, me)


async def _deleted(engine: AsyncEngine, me: Person, other: Person) -> None:
    await _set_status(engine, other, "deleted")


async def _banned(engine: AsyncEngine, me: Person, other: Person) -> None:
    await _set_status(engine, other, "banned")


async def _suspended(engine: AsyncEngine, me: Person, other: Person) -> None:
    await _set_status(engine, other, "suspended", datetime.now(UTC) + timedelta(days=3))


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("hide", [_blocked_by_me, _blocked_me, _deleted, _banned, _suspended],
                         ids=["blocked-by-me", "blocked-me", "deleted", "banned", "suspended"])
async def test_hidden_users_are_not_found(server: RunningServer, engine: AsyncEngine, command: str,
                                          hide: Hide) -> None:
    """Blocked either way, deleted, banned or suspended users are not_found for badges and compatibility."""
    me = await make_person(engine)
    other = await make_person(engine)
    await call(server, me, command, {"user_id": other.key})  # visible before
    await hide(engine, me, other)
    err = await refused(server, me, command, {"user_id": other.key})
    assert err.code == "not_found"


@pytest.mark.parametrize("command", COMMANDS)
async def test_unknown_user_is_not_found(server: RunningServer, person: Person, command: str) -> None:
    """An id nobody has is not_found."""
    assert (await refused(server, person, command, {"user_id": str(uuid.uuid4())})).code == "not_found"


@pytest.mark.parametrize("command", COMMANDS)
async def test_a_suspension_that_ended_is_visible_again(server: RunningServer, engine: AsyncEngine,
                                                        command: str) -> None:
    """A suspension whose time is over counts as active (as it does at login)."""
    me = await make_person(engine)
    other = await make_person(engine)
    await _set_status(engine, other, "suspended", datetime.now(UTC) - timedelta(minutes=1))
    await call(server, me, command, {"user_id": other.key})
