"""Photo review on the wire: the moderators' queue, its live events, the review reply and the owner's notice.

Commands ``moderation.photos.subscribe`` and ``moderation.photos.review``; events ``moderation.photo``,
``moderation.photo_reviewed`` (to the moderators watching the queue) and ``photo.rejected`` (durable, to the
owner). docs/moderation.md "Photo review".
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, with_config
from typing_extensions import TypedDict

from domain.wire.enums import PhotoDecision, PhotoRejectReason
from domain.wire.moderation import ActionView
from domain.wire.scalars import CLOSED, Timestamp, Uuid


@with_config(CLOSED)
class PhotoForReview(TypedDict):
    """A photo waiting for review: the contract's ``{id, user_id, url, thumb_url, created_at}`` and what helps
    judge it at a glance."""

    id: Uuid
    user_id: Annotated[Uuid, Field(description="the owner")]
    display_name: Annotated[str, Field(description="the owner's display name")]
    url: str
    thumb_url: str
    width: int
    height: int
    created_at: Annotated[Timestamp, Field(description="when it was uploaded (it is visible from then on)")]


@with_config(CLOSED)
class PhotoQueueCounts(TypedDict):
    pending: Annotated[int, Field(description="every photo waiting for review (the snapshot may show fewer)")]


@with_config(CLOSED)
class PhotosSubscribeReply(TypedDict):
    photos: Annotated[list[PhotoForReview], Field(description="pending photos in the order asked for (oldest "
                                                              "first by default), at most limit")]
    counts: PhotoQueueCounts


@with_config(CLOSED)
class PhotoReview(TypedDict):
    """A decision on one photo: the reply's ``review`` and the ``moderation.photo_reviewed`` event."""

    photo_id: Uuid
    user_id: Annotated[Uuid, Field(description="the photo's owner")]
    decision: PhotoDecision
    reason: Annotated[PhotoRejectReason | None, Field(description="the violation, for a rejection; null for an "
                                                                  "approval")]
    moderator_id: Uuid
    reviewed_at: Timestamp


@with_config(CLOSED)
class PhotoReviewReply(TypedDict):
    review: PhotoReview
    action: Annotated[ActionView, Field(description="the audit row (approve_photo or reject_photo)")]


# -- events ---------------------------------------------------------------------------------------------------

@with_config(CLOSED)
class ModerationPhoto(TypedDict):
    photo: PhotoForReview


ModerationPhotoReviewed = PhotoReview


@with_config(CLOSED)
class PhotoRejected(TypedDict):
    photo_id: Uuid
    reason: Annotated[PhotoRejectReason, Field(description="the violation the moderator found")]
