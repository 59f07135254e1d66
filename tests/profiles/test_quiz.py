"""quiz.questions and quiz.submit over the socket (CONTRACT section 3 "Compatibility": six traits, 1-5, badges)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.compatibility.traits import TRAIT_KEYS
from domain.models import QuizResponse, UserBadge, UserTrait
from tests.profiles.conftest import call, client, refused
from tests.support.factory import Person, make_person
from tests.support.server import RunningServer


def quiz(*values: int) -> dict[str, int]:
    return dict(zip(TRAIT_KEYS, values, strict=True))


ALL3 = quiz(3, 3, 3, 3, 3, 3)


async def test_questions_are_the_six_traits_with_scale_labels(server: RunningServer, person: Person) -> None:
    """quiz.questions lists the six traits in quiz order, each with a question and labels "1".."5"."""
    questions = (await call(server, person, "quiz.questions"))["questions"]
    assert [q["trait"] for q in questions] == list(TRAIT_KEYS)
    first = questions[0]
    assert first["question"] == "After a long week, how do you recharge?"
    assert first["labels"] == {"1": "Alone, quietly", "2": "Mostly on my own", "3": "A bit of both",
                               "4": "With a few friends", "5": "Out with lots of people"}
    assert all(set(q) == {"trait", "question", "labels"} and list(q["labels"]) == ["1", "2", "3", "4", "5"]
               for q in questions)


async def test_submit_stores_answers_vector_and_badges(server: RunningServer, engine: AsyncEngine) -> None:
    """quiz.submit stores the answers and trait vector and awards badges only for answers 1-2 and 4-5."""
    person = await make_person(engine, answers={})
    reply = await call(server, person, "quiz.submit", {"answers": quiz(1, 2, 3, 4, 5, 3)})
    assert reply == {"traits": quiz(1, 2, 3, 4, 5, 3), "badges": ["introvert", "planner", "independent", "decisive"]}
    async with engine.connect() as conn:
        stored = (await conn.execute(select(QuizResponse.answers).where(QuizResponse.user_id == person.id))).one()
        vector = (await conn.execute(select(UserTrait.traits).where(UserTrait.user_id == person.id))).scalar_one()
    assert stored[0] == quiz(1, 2, 3, 4, 5, 3)
    assert list(vector) == [1.0, 2.0, 3.0, 4.0, 5.0, 3.0]


async def test_resubmitting_replaces_answers_and_badges(server: RunningServer, engine: AsyncEngine) -> None:
    """A second submission replaces the first: badges no longer earned are gone, new ones appear."""
    person = await make_person(engine, answers=quiz(1, 1, 1, 1, 1, 1))
    async with client(server, person) as c:
        assert (await c.call("badges.list"))["badges"] == ["introvert", "planner", "talker", "together",
                                                           "deliberate", "homebody"]
        reply = await c.call("quiz.submit", {"answers": quiz(1, 3, 3, 3, 3, 5)})
        assert reply["badges"] == ["introvert", "adventurer"]
        assert (await c.call("badges.list"))["badges"] == ["introvert", "adventurer"]
        user = (await c.call("me.get"))["user"]
        assert (user["quiz"], user["badges"]) == (quiz(1, 3, 3, 3, 3, 5), ["introvert", "adventurer"])
        assert (await c.call("quiz.submit", {"answers": ALL3}))["badges"] == []
        assert (await c.call("badges.list"))["badges"] == []
    async with engine.connect() as conn:
        rows = (await conn.execute(select(UserBadge.badge).where(UserBadge.user_id == person.id))).all()
    assert rows == []


async def test_first_submission_makes_a_complete_profile_discoverable(server: RunningServer,
                                                                      engine: AsyncEngine) -> None:
    """Before the quiz the profile is not discoverable; after it (with a photo, gender, location) it is."""
    person = await make_person(engine, answers={})
    async with client(server, person) as c:
        assert (await c.call("me.get"))["user"]["discoverable"] is False
        await c.call("quiz.submit", {"answers": ALL3})
        assert (await c.call("me.get"))["user"]["discoverable"] is True


@pytest.mark.parametrize(("answers", "fields"), [
    ({k: v for k, v in ALL3.items() if k != "routine_novelty"}, {"answers.routine_novelty"}),
    ({}, {f"answers.{k}" for k in TRAIT_KEYS}),
    ({**ALL3, "humour": 3}, {"answers.humour"}),
    ({**ALL3, "planner_spontaneous": 0}, {"answers.planner_spontaneous"}),
    ({**ALL3, "planner_spontaneous": 6}, {"answers.planner_spontaneous"}),
    ({**ALL3, "planner_spontaneous": -1}, {"answers.planner_spontaneous"}),
    ({**ALL3, "planner_spontaneous": True}, {"answers.planner_spontaneous"}),
    ({**ALL3, "planner_spontaneous": "4"}, {"answers.planner_spontaneous"}),
    ({**ALL3, "planner_spontaneous": 2.5}, {"answers.planner_spontaneous"}),
    ({**ALL3, "planner_spontaneous": None}, {"answers.planner_spontaneous"}),
    ([3, 3, 3, 3, 3, 3], {"answers"}),
])
async def test_invalid_submissions_are_refused(server: RunningServer, engine: AsyncEngine, answers: Any,
                                               fields: set[str]) -> None:
    """Missing or unknown traits, values outside 1-5 and non-integers (booleans too) are validation_errors."""
    person = await make_person(engine, answers=quiz(1, 1, 1, 1, 1, 1))
    err = await refused(server, person, "quiz.submit", {"answers": answers})
    assert err.code == "validation_error"
    assert set(err.details["fields"]) == fields, err.details
    assert (await call(server, person, "me.get"))["user"]["quiz"] == quiz(1, 1, 1, 1, 1, 1)  # unchanged


async def test_submit_without_answers_is_refused(server: RunningServer, person: Person) -> None:
    """quiz.submit without the answers field is a validation_error naming it."""
    err = await refused(server, person, "quiz.submit", {})
    assert (err.code, set(err.details["fields"])) == ("validation_error", {"answers"})
