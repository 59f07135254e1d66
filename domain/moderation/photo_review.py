"""Photo review: moderators watch the queue of new photos and approve or reject each one, once.

- ``subscribe``: start the caller's live feed (``moderation.photo``, ``moderation.photo_reviewed``),
  then return the pending photos (``photo_feed.snapshot``), so a photo uploaded in between is never
  missed (it may come both live and in the snapshot: key entries by id).
- ``review``: ``approve`` or ``reject`` (with one of ``REJECT_REASONS``) a pending photo. A photo
  already reviewed is a ``conflict``; one that is gone (deleted by its owner) is ``not_found``.
  Every decision writes an audit row (``approve_photo`` / ``reject_photo``, details
  ``{"photo_id", "reason"}``) and tells every moderator's queue on every node.
- A rejection, in the same transaction: the photo leaves its owner's order (``position`` NULL,
  the later photos move up one), so ``me.get``, ``GET /v1/profile/photos`` and every card built
  from then on lack it; the owner gets the durable ``photo.rejected``; discovery hears the
  profile changed. After commit its files are deleted, so the URLs already handed out stop working.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from domain.discovery.signals import profile_changed
from domain.errors import Conflict, NotFound, ValidationFailed
from domain.events.log import EventLog
from domain.models import Photo
from domain.models.photos import REJECT_REASONS
from domain.moderation import photo_feed, rules
from domain.moderation import repository as repo
from domain.moderation.service import require_moderator
from domain.moderation.view import action_view
from domain.photos import repository as photos_repo
from domain.photos.storage import MediaStorage
from domain.transaction import after_commit
from domain.wire.enums import PhotoDecision, PhotoRejectReason
from domain.wire.photo_review import PhotoRejected, PhotoReview, PhotoReviewReply, PhotosSubscribeReply
from domain.wire.scalars import rfc3339

REJECTED_EVENT = "photo.rejected"
REVIEWED_EVENT = "moderation.photo_reviewed"


async def subscribe(session: AsyncSession, storage: MediaStorage, moderator_id: uuid.UUID,
                    start_feed: Callable[[], None], order: photo_feed.Order, limit: int) -> PhotosSubscribeReply:
    """Start the caller's live photo feed, then return the pending photos in ``order`` (at most ``limit``)."""
    await require_moderator(session, moderator_id)
    start_feed()
    return await photo_feed.snapshot(session, storage, order, limit)


def check_reason(decision: PhotoDecision, reason: PhotoRejectReason | None) -> None:
    """A rejection names its violation (one of ``REJECT_REASONS``); an approval names none."""
    if decision == "reject" and reason is None:
        raise ValidationFailed.field("reason", f"is required to reject: one of {', '.join(REJECT_REASONS)}")
    if decision == "approve" and reason is not None:
        raise ValidationFailed.field("reason", "is only allowed with reject")


async def review(session: AsyncSession, events: EventLog, storage: MediaStorage, moderator_id: uuid.UUID,
                 photo_id: uuid.UUID, decision: PhotoDecision, reason: PhotoRejectReason | None) -> PhotoReviewReply:
    """Approve or reject a pending photo (see the module docstring)."""
    await require_moderator(session, moderator_id)
    check_reason(decision, reason)
    photo = await _lock_pending(session, moderator_id, photo_id)
    reviewed_at = await photos_repo.set_review(session, photo.id, moderator_id, reason)
    if reason is not None:
        await _reject(session, events, storage, photo, reason)
    audit = await repo.insert_action(session, moderator_id=moderator_id, target_user_id=photo.user_id,
                                     action=f"{decision}_photo", note="",
                                     details={"photo_id": str(photo.id), "reason": reason})
    done: PhotoReview = {"photo_id": str(photo.id), "user_id": str(photo.user_id), "decision": decision,
                         "reason": reason, "moderator_id": str(moderator_id), "reviewed_at": rfc3339(reviewed_at)}

    async def announce() -> None:
        await events.to_photo_reviewers(REVIEWED_EVENT, done)

    after_commit(session, announce)
    return {"review": done, "action": action_view(audit)}


async def _lock_pending(session: AsyncSession, moderator_id: uuid.UUID, photo_id: uuid.UUID) -> Photo:
    """The photo, locked after its owner's photo lock (the order uploads and deletions take); pending or refused."""
    owner_id = await photos_repo.owner_of(session, photo_id)
    if owner_id is None:
        raise NotFound("no such photo")
    rules.check_target(moderator_id, owner_id)
    await photos_repo.lock_owner(session, owner_id)
    photo = await photos_repo.lock_photo(session, photo_id)
    if photo is None:  # its owner deleted it meanwhile
        raise NotFound("no such photo")
    if photo.review_status != "pending":
        raise Conflict("this photo was already reviewed",
                       {"review_status": photo.review_status,
                        "reviewed_by": str(photo.reviewed_by) if photo.reviewed_by else None})
    return photo


async def _reject(session: AsyncSession, events: EventLog, storage: MediaStorage, photo: Photo,
                  reason: PhotoRejectReason) -> None:
    """The rejection's effects on the owner (the row itself was already updated)."""
    if photo.position is not None:
        await photos_repo.close_gap(session, photo.user_id, photo.position)
    notice: PhotoRejected = {"photo_id": str(photo.id), "reason": reason}
    await events.append(session, photo.user_id, REJECTED_EVENT, notice)
    profile_changed(session, events, photo.user_id)
    keys = (photo.storage_key, photo.thumb_key)

    async def remove_files() -> None:
        for key in keys:
            await storage.delete(key)

    after_commit(session, remove_files)
