"""The photo review queue: pending photos as a snapshot (oldest or newest first) or one at a time, live.

A photo is ``pending`` from its upload until a moderator reviews it; the queue is every pending
photo, read through the partial index ``ix_photos_pending_created`` (migration 0010) forwards for
the oldest first and backwards for the newest first. A new photo is announced to the moderators
watching the queue (``moderation.photo``) once its upload has committed.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.events.log import EventLog
from domain.models import Photo, User
from domain.photos.storage import MediaStorage
from domain.transaction import after_commit
from domain.wire.photo_review import ModerationPhoto, PhotoForReview, PhotosSubscribeReply
from domain.wire.scalars import rfc3339

Order = Literal["newest", "oldest"]
NEW_PHOTO_EVENT = "moderation.photo"
DEFAULT_LIMIT = 100
MAX_LIMIT = 500

_COLUMNS = (Photo.id, Photo.user_id, User.display_name, Photo.storage_key, Photo.thumb_key, Photo.width,
            Photo.height, Photo.created_at)


def photo_for_review(row: Any, storage: MediaStorage) -> PhotoForReview:
    """A row of ``_COLUMNS`` as the queue shows it."""
    return {
        "id": str(row.id),
        "user_id": str(row.user_id),
        "display_name": row.display_name,
        "url": storage.url(row.storage_key),
        "thumb_url": storage.url(row.thumb_key),
        "width": row.width,
        "height": row.height,
        "created_at": rfc3339(row.created_at),
    }


async def snapshot(session: AsyncSession, storage: MediaStorage, order: Order = "oldest",
                   limit: int = DEFAULT_LIMIT) -> PhotosSubscribeReply:
    """``{"photos": [pending photo, …] in ``order`` (at most ``limit``), "counts": {"pending"}}``."""
    pending = Photo.review_status == "pending"
    sort = (Photo.created_at.asc(), Photo.id.asc()) if order == "oldest" else (Photo.created_at.desc(),
                                                                              Photo.id.desc())
    stmt = select(*_COLUMNS).join(User, User.id == Photo.user_id).where(pending).order_by(*sort).limit(limit)
    rows = (await session.execute(stmt)).all()
    return {"photos": [photo_for_review(r, storage) for r in rows], "counts": {"pending": await pending_count(session)}}


async def announce_new(session: AsyncSession, events: EventLog, storage: MediaStorage, photo: Photo) -> None:
    """After commit, send the just-inserted ``photo`` to every moderator watching the queue (every node)."""
    stmt = select(*_COLUMNS).join(User, User.id == Photo.user_id).where(Photo.id == photo.id)
    data: ModerationPhoto = {"photo": photo_for_review((await session.execute(stmt)).one(), storage)}

    async def announce() -> None:
        await events.to_photo_reviewers(NEW_PHOTO_EVENT, data)

    after_commit(session, announce)


async def pending_count(session: AsyncSession) -> int:
    """How many photos wait for review (an index-only count of the partial index)."""
    stmt = select(func.count()).select_from(Photo).where(Photo.review_status == "pending")
    return int((await session.execute(stmt)).scalar_one())

