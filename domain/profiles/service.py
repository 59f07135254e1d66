"""Profiles: the caller's own profile, its edits, prompt answers, the quiz and badges.

Services never commit: the socket handler's unit of work does. Changes that can
make a profile (un)discoverable announce it with ``profile_changed`` after commit.
Per-user caps and read-modify-write checks run under a lock on the user row.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain.auth.service import effective_status
from domain.compatibility import scoring
from domain.compatibility.traits import TRAITS
from domain.discovery.signals import profile_changed
from domain.errors import NotFound, PromptLimit
from domain.events.log import EventLog
from domain.location import moves
from domain.models import User
from domain.photos.service import list_photos
from domain.photos.storage import MediaStorage
from domain.profiles import repository as repo
from domain.profiles import rules
from domain.profiles.view import full_profile
from domain.quoting import quote
from domain.wire.objects import PromptAnswer
from domain.wire.replies import BadgesReply, CatalogReply, PromptsReply, QuestionsReply, QuizReply, UserReply


def _prompt_views(rows: list[tuple[str, str, str]]) -> list[PromptAnswer]:
    return [{"prompt_id": prompt_id, "text": text, "answer": answer} for prompt_id, text, answer in rows]


async def _me(session: AsyncSession, storage: MediaStorage, user: User) -> UserReply:
    photos = await list_photos(session, storage, user.id)
    quiz = await repo.quiz_of(session, user.id)
    completeness = rules.Completeness(
        status=effective_status(user, datetime.now(UTC)), photos=len(photos), quiz_submitted=quiz is not None,
        gender=user.gender, has_location=user.lat is not None, interested_in=tuple(user.interested_in or ()))
    profile = full_profile(
        user, photos=photos,
        prompts=_prompt_views(await repo.answers_of(session, user.id)),
        badges=rules.badges_in_quiz_order(await repo.badges_of(session, user.id)),
        quiz=rules.quiz_in_order(quiz) if quiz is not None else None,
        discoverable=completeness.discoverable())
    return {"user": profile}


async def _user(session: AsyncSession, user_id: uuid.UUID, *, for_update: bool = False) -> User:
    user = await repo.user_by_id(session, user_id, for_update=for_update)
    if user is None:
        raise NotFound("no such user")
    return user


async def get_me(session: AsyncSession, storage: MediaStorage, user_id: uuid.UUID) -> UserReply:
    """``{"user": profile}``: the caller's full profile."""
    return await _me(session, storage, await _user(session, user_id))


async def update_me(session: AsyncSession, storage: MediaStorage, events: EventLog, user_id: uuid.UUID,
                    patch: dict[str, Any]) -> UserReply:
    """Apply a validated partial update of the caller's profile; ``{"user": profile}``."""
    rules.check_fields(list(patch))  # before any I/O: an unknown field needs no row
    user = await _user(session, user_id, for_update=True)  # age_min/age_max are checked against the stored pair
    values = rules.check_update(patch, rules.AgeBounds(user.age_min, user.age_max))
    if "lat" in values:
        _apply_move(user, values, datetime.now(UTC))
    user = await repo.update_user(session, user_id, values)
    profile_changed(session, events, user_id)
    return await _me(session, storage, user)


def _apply_move(user: User, values: dict[str, Any], now: datetime) -> None:
    """Count a change of cell in ``values`` (raises ``RateLimited`` past the limits); drop one that is no change."""
    previous = (user.lat, user.lon) if user.lat is not None and user.lon is not None else None
    wanted = (values["lat"], values["lon"]) if values["lat"] is not None else None
    history = moves.check_move(previous, wanted, user.location_moves, now)
    if history is None:
        del values["lat"], values["lon"]
    else:
        values["location_moves"] = history


async def prompt_catalog(session: AsyncSession) -> CatalogReply:
    """``{"prompts": [{"id", "text"}]}`` in catalogue order."""
    return {"prompts": [{"id": prompt_id, "text": text} for prompt_id, text in await repo.catalog(session)]}


async def list_prompts(session: AsyncSession, user_id: uuid.UUID) -> PromptsReply:
    """``{"prompts": [{"prompt_id", "text", "answer"}]}``: the caller's answers in catalogue order."""
    return {"prompts": _prompt_views(await repo.answers_of(session, user_id))}


async def answer_prompt(session: AsyncSession, user_id: uuid.UUID, prompt_id: str, answer: str) -> PromptsReply:
    """Answer a prompt (again: replaces the answer); at most three answered. Replies with all answers."""
    text = rules.check_answer(answer)
    if not await repo.prompt_exists(session, prompt_id):
        raise NotFound("no such prompt", {"prompt_id": quote(prompt_id)})
    await _user(session, user_id, for_update=True)  # concurrent answers of one user count one at a time
    if await repo.count_other_answers(session, user_id, prompt_id) >= rules.MAX_PROMPTS:
        raise PromptLimit(f"you already answered {rules.MAX_PROMPTS} prompts; delete one first",
                          {"limit": rules.MAX_PROMPTS})
    await repo.upsert_answer(session, user_id, prompt_id, text)
    return await list_prompts(session, user_id)


async def delete_prompt(session: AsyncSession, user_id: uuid.UUID, prompt_id: str) -> PromptsReply:
    """Remove one of the caller's answers (not_found if it was not answered); replies with the rest."""
    if not await repo.delete_answer(session, user_id, prompt_id):
        raise NotFound("you have not answered that prompt", {"prompt_id": quote(prompt_id)})
    return await list_prompts(session, user_id)


def quiz_questions() -> QuestionsReply:
    """``{"questions": [{"trait", "question", "labels": {"1".."5": text}}]}`` in quiz order."""
    return {"questions": [{"trait": t.key, "question": t.question,
                           "labels": {str(value): label for value, label in enumerate(t.labels, start=1)}}
                          for t in TRAITS]}


async def submit_quiz(session: AsyncSession, events: EventLog, user_id: uuid.UUID,
                      answers: dict[str, Any]) -> QuizReply:
    """Store all six answers, the trait vector and the badges they earn; ``{"traits", "badges"}``."""
    clean = rules.check_quiz(answers)
    await _user(session, user_id, for_update=True)  # two submissions at once must not mix their badges
    earned = scoring.badges(clean)
    await repo.save_quiz(session, user_id, clean, scoring.vector(clean))
    await repo.replace_badges(session, user_id, earned)
    profile_changed(session, events, user_id)
    return {"traits": clean, "badges": earned}


async def quiz_answers(session: AsyncSession, user_id: uuid.UUID) -> dict[str, int]:
    """The user's submitted quiz answers, ``{}`` before the first submission."""
    return await repo.quiz_of(session, user_id) or {}


async def require_visible(session: AsyncSession, viewer_id: uuid.UUID, target_id: uuid.UUID) -> User:
    """Another user the viewer may look at: exists, is active and no block either way; else ``NotFound``."""
    target = await repo.user_by_id(session, target_id)
    if (target is None or effective_status(target, datetime.now(UTC)) != "active"
            or await repo.blocked_either_way(session, viewer_id, target_id)):
        raise NotFound("no such user")
    return target


async def list_badges(session: AsyncSession, viewer_id: uuid.UUID, user_id: uuid.UUID | None) -> BadgesReply:
    """``{"badges"}`` of the caller, or of another user the caller may see, in quiz order."""
    if user_id is not None and user_id != viewer_id:
        await require_visible(session, viewer_id, user_id)
    return {"badges": rules.badges_in_quiz_order(await repo.badges_of(session, user_id or viewer_id))}
