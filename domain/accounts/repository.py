"""SQL that erases what a deleted account described about its person."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import (
    AccountToken,
    DailyLikeCount,
    Pass,
    Photo,
    PromptAnswer,
    QuizResponse,
    User,
    UserBadge,
    UserEvent,
    UserTrait,
)

DELETED_NAME = "Deleted user"
DELETED_EMAIL_DOMAIN = "deleted.invalid"  # RFC 2606: can never be a real mailbox
UNUSABLE_PASSWORD_HASH = "!"  # not a bcrypt hash: no password verifies against it


async def remove_photos(session: AsyncSession, user_id: uuid.UUID) -> list[str]:
    """Delete the user's photo rows; return the storage keys of the files to remove after commit."""
    rows = await session.execute(delete(Photo).where(Photo.user_id == user_id)
                                 .returning(Photo.storage_key, Photo.thumb_key))
    return [key for storage_key, thumb_key in rows.all() for key in (storage_key, thumb_key)]


async def remove_profile_content(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Prompts, quiz, traits, badges, the user's own passes and like counters, the user's event inbox and mailed
    link tokens (verification, reset)."""
    for model in (PromptAnswer, QuizResponse, UserTrait, UserBadge, DailyLikeCount, AccountToken):
        await session.execute(delete(model).where(model.user_id == user_id))
    await session.execute(delete(Pass).where(Pass.passer_id == user_id))
    await session.execute(delete(UserEvent).where(UserEvent.user_id == user_id))


async def scrub_account(session: AsyncSession, user_id: uuid.UUID, birth_year_start: date, now: datetime) -> None:
    """Mark the account deleted and overwrite what identifies the person; the email becomes free again."""
    await session.execute(update(User).where(User.id == user_id).values(
        status="deleted", deleted_at=now, suspended_until=None,
        email=f"deleted-{user_id.hex}@{DELETED_EMAIL_DOMAIN}", password_hash=UNUSABLE_PASSWORD_HASH,
        display_name=DELETED_NAME, bio="", gender=None, interested_in=[], lat=None, lon=None,
        birthdate=birth_year_start))
