"""SQL for photos. A rejected photo (``review_status = 'rejected'``) is out of its owner's order and shown nowhere:
the owner's queries here skip it."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import Photo, User


async def lock_owner(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Serialise photo changes of one user (the six-photo cap is checked under this lock)."""
    await session.execute(select(User.id).where(User.id == user_id).with_for_update())


VISIBLE = Photo.review_status != "rejected"


async def count_for(session: AsyncSession, user_id: uuid.UUID) -> int:
    stmt = select(func.count()).where(Photo.user_id == user_id, VISIBLE)
    return int((await session.execute(stmt)).scalar_one())


async def list_for(session: AsyncSession, user_id: uuid.UUID) -> list[Photo]:
    stmt = select(Photo).where(Photo.user_id == user_id, VISIBLE).order_by(Photo.position)
    return list((await session.execute(stmt)).scalars())


async def get_owned(session: AsyncSession, user_id: uuid.UUID, photo_id: uuid.UUID) -> Photo | None:
    stmt = select(Photo).where(Photo.id == photo_id, Photo.user_id == user_id, VISIBLE)
    return (await session.execute(stmt)).scalar_one_or_none()


async def remove_and_close_gap(session: AsyncSession, photo: Photo) -> None:
    """Delete ``photo`` and shift the later ones up so positions stay 0..n-1."""
    await session.execute(delete(Photo).where(Photo.id == photo.id))
    if photo.position is not None:
        await close_gap(session, photo.user_id, photo.position)


async def close_gap(session: AsyncSession, user_id: uuid.UUID, position: int) -> None:
    """Shift the user's photos after ``position`` up by one (the photo there has left the order)."""
    await session.execute(
        update(Photo)
        .where(Photo.user_id == user_id, Photo.position > position)
        .values(position=Photo.position - 1)
    )


# -- review (domain/moderation/photo_review.py) --------------------------------------------------------------

async def owner_of(session: AsyncSession, photo_id: uuid.UUID) -> uuid.UUID | None:
    return (await session.execute(select(Photo.user_id).where(Photo.id == photo_id))).scalar_one_or_none()


async def lock_photo(session: AsyncSession, photo_id: uuid.UUID) -> Photo | None:
    """The photo row, locked against a concurrent review (and read afresh)."""
    stmt = select(Photo).where(Photo.id == photo_id).with_for_update().execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def set_review(session: AsyncSession, photo_id: uuid.UUID, moderator_id: uuid.UUID,
                     reject_reason: str | None) -> datetime:
    """Approve (``reject_reason`` None) or reject a pending photo; a rejected one leaves the order. Returns the time."""
    values: dict[str, object] = {"reviewed_at": func.now(), "reviewed_by": moderator_id}
    if reject_reason is None:
        values["review_status"] = "approved"
    else:
        values.update(review_status="rejected", reject_reason=reject_reason, position=None)
    stmt = (update(Photo).where(Photo.id == photo_id, Photo.review_status == "pending").values(**values)
            .returning(Photo.reviewed_at).execution_options(synchronize_session=False))
    reviewed_at = (await session.execute(stmt)).scalar_one()
    assert reviewed_at is not None  # just set
    return reviewed_at
