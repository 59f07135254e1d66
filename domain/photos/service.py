"""Profile photos: list, add (at most six), delete; files go to a ``MediaStorage``.

A new photo is visible at once and enters the moderators' review queue (``pending``); a rejected one is
left out of everything here (docs/moderation.md "Photo review").
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from domain.discovery.signals import profile_changed
from domain.errors import NotFound, PhotoLimit
from domain.events.log import EventLog
from domain.models import Photo
from domain.models.photos import MAX_PHOTOS
from domain.moderation.photo_feed import announce_new
from domain.photos import repository as repo
from domain.photos.images import ProcessedPhoto
from domain.photos.storage import MediaStorage, new_key
from domain.transaction import after_commit
from domain.wire import objects as wire


def photo_view(photo: Photo, storage: MediaStorage) -> wire.Photo:
    """The contract's photo object."""
    return {
        "id": str(photo.id),
        "url": storage.url(photo.storage_key),
        "thumb_url": storage.url(photo.thumb_key),
        "position": _placed(photo),
        "width": photo.width,
        "height": photo.height,
    }


def _placed(photo: Photo) -> int:
    """The position of a photo in its owner's order (only rejected photos have none, and they are never shown)."""
    if photo.position is None:
        raise ValueError(f"photo {photo.id} was rejected: it has no place to show")
    return photo.position


async def list_photos(session: AsyncSession, storage: MediaStorage, user_id: uuid.UUID) -> list[wire.Photo]:
    """The user's photos in order."""
    return [photo_view(p, storage) for p in await repo.list_for(session, user_id)]


async def ensure_room(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Refuse early (before any image work) when the user already has six photos."""
    if await repo.count_for(session, user_id) >= MAX_PHOTOS:
        raise PhotoLimit(f"you already have {MAX_PHOTOS} photos; delete one first", {"limit": MAX_PHOTOS})


async def add_photo(session: AsyncSession, storage: MediaStorage, user_id: uuid.UUID,
                    processed: ProcessedPhoto, events: EventLog | None = None) -> wire.Photo:
    """Store an already processed photo as the user's last one, pending review (``events``: announce it to
    discovery and to the moderators watching the photo queue)."""
    await repo.lock_owner(session, user_id)
    count = await repo.count_for(session, user_id)
    if count >= MAX_PHOTOS:
        raise PhotoLimit(f"you already have {MAX_PHOTOS} photos; delete one first", {"limit": MAX_PHOTOS})
    photo = Photo(id=uuid.uuid4(), user_id=user_id, position=count, storage_key=new_key(".jpg"),
                  thumb_key=new_key(".jpg"), width=processed.width, height=processed.height)
    await storage.put(photo.storage_key, processed.image, processed.content_type)
    try:
        await storage.put(photo.thumb_key, processed.thumb, processed.content_type)
        session.add(photo)
        await session.flush()
    except BaseException:
        await storage.delete(photo.storage_key)
        await storage.delete(photo.thumb_key)
        raise
    if events is not None:
        profile_changed(session, events, user_id)
        await announce_new(session, events, storage, photo)
    return photo_view(photo, storage)


async def delete_photo(session: AsyncSession, storage: MediaStorage, user_id: uuid.UUID,
                       photo_id: uuid.UUID, events: EventLog | None = None) -> None:
    """Delete one of the user's photos; someone else's id is simply not found (``events``: tell discovery)."""
    await repo.lock_owner(session, user_id)
    photo = await repo.get_owned(session, user_id, photo_id)
    if photo is None:
        raise NotFound("no such photo")
    await repo.remove_and_close_gap(session, photo)
    keys = (photo.storage_key, photo.thumb_key)

    async def remove_files() -> None:
        for key in keys:
            await storage.delete(key)

    after_commit(session, remove_files)
    if events is not None:
        profile_changed(session, events, user_id)
