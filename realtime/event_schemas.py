"""Registers every server event with its ``data`` shape (defined once, in ``domain/wire/events.py``).

``reply`` is not an event but the frame that answers a command; it is
registered here with its whole frame model so the protocol page documents it
in one place.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from domain.wire import events as e
from domain.wire import photo_review as pr
from domain.wire.errors import ErrorBody
from realtime.registry import REGISTRY


class Frame(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReplyOk(Frame):
    type: Literal["reply"]
    ref: str | int | None = Field(description="the command's ref, echoed")
    ok: Literal[True]
    data: dict[str, Any]


class ReplyError(Frame):
    type: Literal["reply"]
    ref: str | int | None = Field(description="the command's ref, echoed (null when it could not be read)")
    ok: Literal[False]
    error: ErrorBody


class Reply(RootModel[ReplyOk | ReplyError]):
    """The answer to one command: ``data`` when ``ok``, else ``error`` (a whole frame, not a ``data``)."""


REGISTRY.event("hello", e.Hello, durable=False, summary="First frame after authentication.")
REGISTRY.event("reply", Reply, durable=False, summary="The answer to a command, carrying its ref.")
REGISTRY.event("match.created", e.MatchCreated, durable=True, summary="A like became mutual; sent to both users.")
REGISTRY.event("match.updated", e.MatchUpdated, durable=True,
               summary="A match changed state (also when a block or a deletion ends it).")
REGISTRY.event("like.received", e.LikeReceived, durable=True, summary="Someone liked you.")
REGISTRY.event("message.created", e.MessageCreated, durable=True,
               summary="A message in one of your matches, to both members' devices.")
REGISTRY.event("message.read", e.MessageRead, durable=True, summary="A match member read messages up to one.")
REGISTRY.event("typing", e.Typing, durable=False, summary="The other member of a match is typing.")
REGISTRY.event("presence", e.PresenceChanged, durable=False, summary="A match partner came online or went offline.")
REGISTRY.event("discovery.card", e.DiscoveryCard, durable=False, summary="One profile to consider.")
REGISTRY.event("discovery.empty", e.DiscoveryEmpty, durable=False, summary="No profile is left to show for now.")
REGISTRY.event("account.suspended", e.AccountSuspendedNotice, durable=True,
               summary="Your account was suspended or banned; the socket closes with 4403.")
REGISTRY.event("moderation.warning", e.ModerationWarning, durable=True,
               summary="A moderator warned you about your behaviour (durable: replayed by sync).")
REGISTRY.event("moderation.report", e.ModerationReport, durable=False,
               summary="Moderators: a report in the open queue (snapshot, then live).")
REGISTRY.event("moderation.resolved", e.ModerationResolved, durable=False, summary="Moderators: a report was resolved.")
REGISTRY.event("photo.rejected", pr.PhotoRejected, durable=True,
               summary="A moderator rejected one of your photos: it is gone from your profile and every card.")
REGISTRY.event("moderation.photo", pr.ModerationPhoto, durable=False,
               summary="Moderators watching photo review: a new photo waits for review.")
REGISTRY.event("moderation.photo_reviewed", pr.ModerationPhotoReviewed, durable=False,
               summary="Moderators watching photo review: a photo was approved or rejected (it leaves the queue).")
