"""Socket commands: photo review (CONTRACT section 2, moderator-only; docs/moderation.md "Photo review").

As for the other moderation commands, the dispatcher refuses these to sockets that did not
authenticate as a moderator, and each re-checks the role in the database.
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field

from domain.moderation import photo_feed, photo_review
from domain.wire import photo_review as w
from domain.wire.enums import PhotoDecision, PhotoRejectReason
from realtime.commands.moderation import MODERATOR
from realtime.context import CommandContext
from realtime.registry import REGISTRY, CommandInput


class PhotosSubscribeIn(CommandInput):
    order: Literal["newest", "oldest"] = Field(
        default="oldest", description="oldest first (the photo that has been visible longest) or newest first")
    limit: int = Field(default=photo_feed.DEFAULT_LIMIT, ge=1, le=photo_feed.MAX_LIMIT,
                       description=f"at most this many photos in the snapshot (1 to {photo_feed.MAX_LIMIT})")


class PhotoReviewIn(CommandInput):
    photo_id: uuid.UUID
    decision: PhotoDecision
    reason: PhotoRejectReason | None = Field(default=None, description="required to reject, refused to approve")


@REGISTRY.command("moderation.photos.subscribe", PhotosSubscribeIn, role=MODERATOR, reply=w.PhotosSubscribeReply,
                  summary="Snapshot of the photos waiting for review (oldest or newest first, with the count); then "
                          "live moderation.photo and moderation.photo_reviewed events on this socket.")
async def subscribe(ctx: CommandContext, data: PhotosSubscribeIn) -> w.PhotosSubscribeReply:
    def start_feed() -> None:
        ctx.deps.hub.join_photo_reviewers(ctx.connection)

    async with ctx.transaction() as session:
        return await photo_review.subscribe(session, ctx.deps.storage, ctx.principal.user_id, start_feed,
                                            data.order, data.limit)


@REGISTRY.command("moderation.photos.review", PhotoReviewIn, role=MODERATOR, reply=w.PhotoReviewReply,
                  summary="Approve or reject (with a reason) a photo waiting for review; reviewing twice is a "
                          "conflict. A rejected photo disappears from its owner's profile and every card, and "
                          "the owner gets photo.rejected.")
async def review(ctx: CommandContext, data: PhotoReviewIn) -> w.PhotoReviewReply:
    async with ctx.transaction() as session:
        return await photo_review.review(session, ctx.deps.events, ctx.deps.storage, ctx.principal.user_id,
                                         data.photo_id, data.decision, data.reason)
