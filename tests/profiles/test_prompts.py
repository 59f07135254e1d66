"""prompts.catalog / answer / list / delete over the socket (CONTRACT section 3 "Prompts": at most 3 answered)."""

from __future__ import annotations

import asyncio

import pytest
from delete_client import ClientError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from delete_api.database import make_sessionmaker
from domain.errors import PromptLimit
from domain.models import PromptAnswer
from domain.profiles import service as profiles
from domain.transaction import unit_of_work
from tests.profiles.conftest import call, client, refused
from tests.support.factory import Person, make_person
from tests.support.server import RunningServer


async def test_catalog_lists_every_prompt_in_catalogue_order(server: RunningServer, person: Person) -> None:
    """prompts.catalog gives every seeded prompt as {id, text}, in catalogue order."""
    prompts = (await call(server, person, "prompts.catalog"))["prompts"]
    assert len(prompts) == 30
    assert prompts[0] == {"id": "two_truths", "text": "Two truths and a lie"}
    assert prompts[-1]["id"] == "change_my_mind"
    assert all(set(p) == {"id", "text"} for p in prompts)


async def test_answer_list_and_delete(server: RunningServer, person: Person) -> None:
    """Answering replies with all answers (catalogue order, trimmed); list shows them; delete removes one."""
    async with client(server, person) as c:
        reply = await c.call("prompts.answer", {"prompt_id": "green_flag", "answer": "  Patience  "})
        assert reply == {"prompts": [{"prompt_id": "green_flag", "text": "A green flag I look for",
                                      "answer": "Patience"}]}
        reply = await c.call("prompts.answer", {"prompt_id": "two_truths", "answer": "I\nhave\nthree cats"})
        assert [p["prompt_id"] for p in reply["prompts"]] == ["two_truths", "green_flag"]
        assert await c.call("prompts.list") == reply
        reply = await c.call("prompts.delete", {"prompt_id": "two_truths"})
        assert [p["prompt_id"] for p in reply["prompts"]] == ["green_flag"]
        assert await c.call("prompts.list") == reply


async def test_at_most_three_and_answering_again_replaces(server: RunningServer, person: Person) -> None:
    """A 4th prompt is prompt_limit; re-answering one of the 3 replaces it; after a delete a new one fits."""
    async with client(server, person) as c:
        for prompt_id in ("two_truths", "perfect_sunday", "green_flag"):
            await c.call("prompts.answer", {"prompt_id": prompt_id, "answer": "first"})
        with pytest.raises(ClientError) as info:
            await c.call("prompts.answer", {"prompt_id": "hidden_talent", "answer": "juggling"})
        assert info.value.code == "prompt_limit"
        reply = await c.call("prompts.answer", {"prompt_id": "green_flag", "answer": "second"})
        assert [(p["prompt_id"], p["answer"]) for p in reply["prompts"]] == [
            ("two_truths", "first"), ("perfect_sunday", "first"), ("green_flag", "second")]
        await c.call("prompts.delete", {"prompt_id": "perfect_sunday"})
        reply = await c.call("prompts.answer", {"prompt_id": "hidden_talent", "answer": "juggling"})
        assert len(reply["prompts"]) == 3


async def test_concurrent_answers_never_exceed_three(engine: AsyncEngine) -> None:
    """A second answer sent while another is uncommitted waits for it and then counts it (user row lock)."""
    person = await make_person(engine)
    maker = make_sessionmaker(engine)
    async with unit_of_work(maker) as session:
        for prompt_id in ("two_truths", "perfect_sunday"):
            await profiles.answer_prompt(session, person.id, prompt_id, "hello")
    async with maker() as first, maker() as second:
        await profiles.answer_prompt(first, person.id, "green_flag", "third")  # holds the lock, uncommitted
        racer = asyncio.create_task(profiles.answer_prompt(second, person.id, "hidden_talent", "fourth"))
        await asyncio.sleep(0.3)
        assert not racer.done()  # waiting for the first transaction
        await first.commit()
        with pytest.raises(PromptLimit):
            await asyncio.wait_for(racer, 5)
        await second.rollback()
    async with engine.connect() as conn:
        count = (await conn.execute(select(func.count()).where(PromptAnswer.user_id == person.id))).scalar_one()
    assert count == 3


async def test_unknown_prompt_is_not_found(server: RunningServer, person: Person) -> None:
    """Answering a prompt that is not in the catalogue is not_found."""
    err = await refused(server, person, "prompts.answer", {"prompt_id": "no_such_prompt", "answer": "hi"})
    assert err.code == "not_found"


async def test_deleting_an_unanswered_prompt_is_not_found(server: RunningServer, person: Person) -> None:
    """prompts.delete of a prompt you had not answered (or that does not exist) is not_found."""
    assert (await refused(server, person, "prompts.delete", {"prompt_id": "green_flag"})).code == "not_found"
    assert (await refused(server, person, "prompts.delete", {"prompt_id": "nope"})).code == "not_found"


@pytest.mark.parametrize("answer", ["", "    ", "a" * 301, "bad\x00byte"])
async def test_answer_length_is_checked_after_trimming(server: RunningServer, person: Person, answer: str) -> None:
    """An answer empty after trimming, over 300 characters or unstorable is a validation_error on answer."""
    err = await refused(server, person, "prompts.answer", {"prompt_id": "green_flag", "answer": answer})
    assert (err.code, set(err.details["fields"])) == ("validation_error", {"answer"})


async def test_answer_of_exactly_300_characters_is_kept(server: RunningServer, person: Person) -> None:
    """300 characters (surrounding spaces do not count) is accepted."""
    reply = await call(server, person, "prompts.answer", {"prompt_id": "green_flag", "answer": " " + "é" * 300 + " "})
    assert reply["prompts"][0]["answer"] == "é" * 300


async def test_missing_or_extra_fields_are_validation_errors(server: RunningServer, person: Person) -> None:
    """prompts.answer without an answer, or with an unknown field, is a validation_error naming it."""
    err = await refused(server, person, "prompts.answer", {"prompt_id": "green_flag"})
    assert (err.code, set(err.details["fields"])) == ("validation_error", {"answer"})
    err = await refused(server, person, "prompts.answer", {"prompt_id": "green_flag", "answer": "x", "rank": 1})
    assert (err.code, set(err.details["fields"])) == ("validation_error", {"rank"})
