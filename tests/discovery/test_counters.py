"""The ranking inputs copied onto ``users`` (migration 0004) follow photos, prompt answers and quiz traits."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.models import Photo, PromptAnswer, User, UserTrait
from tests.discovery.support import insert_rows, prompt_answers
from tests.support.factory import make_person


async def copies(engine: AsyncEngine, user_id: uuid.UUID) -> tuple[int, int, list[float] | None]:
    async with engine.connect() as conn:
        row = (await conn.execute(select(User.photo_count, User.prompt_count, User.traits)
                                  .where(User.id == user_id))).one()
    return row.photo_count, row.prompt_count, None if row.traits is None else [float(v) for v in row.traits]


async def test_photo_and_prompt_counts_follow_inserts_and_deletes(engine: AsyncEngine) -> None:
    """Adding and removing photos and prompt answers keeps the counts discovery ranks by."""
    person = await make_person(engine, photos=3)
    assert (await copies(engine, person.id))[:2] == (3, 0)
    await insert_rows(engine, *prompt_answers(person, 3))
    await insert_rows(engine, update(PromptAnswer).where(PromptAnswer.user_id == person.id)
                      .values(answer="Changed my mind."))
    assert (await copies(engine, person.id))[:2] == (3, 3)
    first = await _first_photo(engine, person.id)
    await insert_rows(engine, delete(Photo).where(Photo.id == first),
                      delete(PromptAnswer).where(PromptAnswer.user_id == person.id,
                                                 PromptAnswer.prompt_id == "two_truths"))
    assert (await copies(engine, person.id))[:2] == (2, 2)


async def test_traits_follow_the_quiz(engine: AsyncEngine) -> None:
    """The copied traits appear with the quiz, change with a resubmission (an upsert) and go with it."""
    person = await make_person(engine, answers={})
    assert (await copies(engine, person.id))[2] is None
    upsert = text("INSERT INTO user_traits (user_id, traits) VALUES (:id, CAST(:v AS vector)) "
                  "ON CONFLICT (user_id) DO UPDATE SET traits = excluded.traits")
    async with engine.begin() as conn:
        await conn.execute(upsert, {"id": person.id, "v": "[1,2,3,4,5,1]"})
    assert (await copies(engine, person.id))[2] == [1, 2, 3, 4, 5, 1]
    async with engine.begin() as conn:
        await conn.execute(upsert, {"id": person.id, "v": "[5,5,5,5,5,5]"})
    assert (await copies(engine, person.id))[2] == [5] * 6
    await insert_rows(engine, delete(UserTrait).where(UserTrait.user_id == person.id))
    assert (await copies(engine, person.id))[2] is None


async def test_erasing_a_user_with_photos_still_works(engine: AsyncEngine) -> None:
    """Deleting a users row cascades to photos and prompts without the counting triggers getting in the way."""
    person = await make_person(engine, photos=2)
    await insert_rows(engine, *prompt_answers(person, 2))
    await insert_rows(engine, delete(User).where(User.id == person.id))
    async with engine.connect() as conn:
        left = (await conn.execute(select(Photo.id).where(Photo.user_id == person.id))).all()
    assert left == []


async def _first_photo(engine: AsyncEngine, user_id: uuid.UUID) -> uuid.UUID:
    async with engine.connect() as conn:
        return (await conn.execute(select(Photo.id).where(Photo.user_id == user_id)
                                   .order_by(Photo.position).limit(1))).scalar_one()
