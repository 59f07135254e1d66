"""SQL for profiles: the user row, prompt answers, the quiz, traits, badges and who may see whom."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import Block, Prompt, PromptAnswer, QuizResponse, User, UserBadge, UserTrait


async def user_by_id(session: AsyncSession, user_id: uuid.UUID, *, for_update: bool = False) -> User | None:
    """The user row; ``for_update`` serialises this user's profile changes (prompt cap, age bounds, quiz)."""
    stmt = select(User).where(User.id == user_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def update_user(session: AsyncSession, user_id: uuid.UUID, values: dict[str, Any]) -> User:
    """Write ``values`` to the user row and return the fresh row."""
    stmt = update(User).where(User.id == user_id).values(**values).returning(User)
    stmt = stmt.execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one()


async def catalog(session: AsyncSession) -> list[tuple[str, str]]:
    """Every prompt as ``(id, text)`` in catalogue order."""
    rows = await session.execute(select(Prompt.id, Prompt.text).order_by(Prompt.position))
    return [(prompt_id, text) for prompt_id, text in rows]


async def prompt_exists(session: AsyncSession, prompt_id: str) -> bool:
    return (await session.execute(select(Prompt.id).where(Prompt.id == prompt_id))).first() is not None


async def answers_of(session: AsyncSession, user_id: uuid.UUID) -> list[tuple[str, str, str]]:
    """The user's answers as ``(prompt_id, text, answer)`` in catalogue order (the order cards use)."""
    rows = await session.execute(
        select(PromptAnswer.prompt_id, Prompt.text, PromptAnswer.answer)
        .join(Prompt, Prompt.id == PromptAnswer.prompt_id)
        .where(PromptAnswer.user_id == user_id).order_by(Prompt.position))
    return [(prompt_id, text, answer) for prompt_id, text, answer in rows]


async def count_other_answers(session: AsyncSession, user_id: uuid.UUID, prompt_id: str) -> int:
    """How many prompts the user has answered besides ``prompt_id``."""
    stmt = select(func.count()).where(PromptAnswer.user_id == user_id, PromptAnswer.prompt_id != prompt_id)
    return int((await session.execute(stmt)).scalar_one())


async def upsert_answer(session: AsyncSession, user_id: uuid.UUID, prompt_id: str, answer: str) -> None:
    stmt = insert(PromptAnswer).values(user_id=user_id, prompt_id=prompt_id, answer=answer)
    await session.execute(stmt.on_conflict_do_update(
        index_elements=[PromptAnswer.user_id, PromptAnswer.prompt_id],
        set_={"answer": stmt.excluded.answer, "updated_at": func.now()}))


async def delete_answer(session: AsyncSession, user_id: uuid.UUID, prompt_id: str) -> bool:
    """Delete one answer; False if the user had not answered that prompt."""
    result = await session.execute(
        delete(PromptAnswer).where(PromptAnswer.user_id == user_id, PromptAnswer.prompt_id == prompt_id)
        .returning(PromptAnswer.prompt_id))
    return result.first() is not None


async def quiz_of(session: AsyncSession, user_id: uuid.UUID) -> dict[str, int] | None:
    """The submitted quiz answers, or None before the first submission."""
    stmt = select(QuizResponse.answers).where(QuizResponse.user_id == user_id)
    answers: dict[str, int] | None = (await session.execute(stmt)).scalar_one_or_none()
    return answers


async def save_quiz(session: AsyncSession, user_id: uuid.UUID, answers: dict[str, int],
                    traits: list[float]) -> None:
    """Store the answers and the trait vector, replacing an earlier submission."""
    quiz = insert(QuizResponse).values(user_id=user_id, answers=answers)
    await session.execute(quiz.on_conflict_do_update(
        index_elements=[QuizResponse.user_id], set_={"answers": quiz.excluded.answers, "submitted_at": func.now()}))
    vector = insert(UserTrait).values(user_id=user_id, traits=traits)
    await session.execute(vector.on_conflict_do_update(
        index_elements=[UserTrait.user_id], set_={"traits": vector.excluded.traits, "updated_at": func.now()}))


async def replace_badges(session: AsyncSession, user_id: uuid.UUID, badges: Sequence[str]) -> None:
    """Make the user's badges exactly ``badges``; badges kept keep their award time."""
    await session.execute(delete(UserBadge).where(UserBadge.user_id == user_id, UserBadge.badge.not_in(badges)))
    if badges:
        await session.execute(insert(UserBadge).values([{"user_id": user_id, "badge": b} for b in badges])
                              .on_conflict_do_nothing())


async def badges_of(session: AsyncSession, user_id: uuid.UUID) -> list[str]:
    return list((await session.execute(select(UserBadge.badge).where(UserBadge.user_id == user_id))).scalars())


async def blocked_either_way(session: AsyncSession, a: uuid.UUID, b: uuid.UUID) -> bool:
    stmt = select(Block.blocker_id).where(or_(
        (Block.blocker_id == a) & (Block.blocked_id == b),
        (Block.blocker_id == b) & (Block.blocked_id == a))).limit(1)
    return (await session.execute(stmt)).first() is not None
