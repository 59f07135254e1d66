"""SQL for photos."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import Photo, User


async def lock_owner(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Serialise photo changes of one user (the six-photo cap is checked under this lock)."""
    await session.execute(select(User.id).where(User.id == user_id).with_for_update())


async def count_for(session: AsyncSession, user_id: uuid.UUID) -> int:
    return int((await session.execute(select(func.count()).where(Photo.user_id == user_id))).scalar_one())


async def list_for(session: AsyncSession, user_id: uuid.UUID) -> list[Photo]:
    stmt = select(Photo).where(Photo.user_id == user_id).order_by(Photo.position)
    return list((await session.execute(stmt)).scalars())


async def get_owned(session: AsyncSession, user_id: uuid.UUID, photo_id: uuid.UUID) -> Photo | None:
    stmt = select(Photo).where(Photo.id == photo_id, Photo.user_id == user_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def remove_and_close_gap(session: AsyncSession, photo: Photo) -> None:
    """Delete ``photo`` and shift the later ones up so positions stay 0..n-1."""
    await session.execute(delete(Photo).where(Photo.id == photo.id))
    await session.execute(
        update(Photo)
        .where(Photo.user_id == photo.user_id, Photo.position > photo.position)
        .values(position=Photo.position - 1)
    )
