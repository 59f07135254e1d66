"""The ``data`` of every server event (CONTRACT section 2 "Events"); the transports register their types."""

from __future__ import annotations

from typing import Annotated, NotRequired

from pydantic import Field, with_config
from typing_extensions import TypedDict

from domain.wire.enums import MatchState, ReportReason, Resolution
from domain.wire.moderation import QueueEntry
from domain.wire.objects import Card, Match, Message
from domain.wire.scalars import CLOSED, Timestamp, Uuid


@with_config(CLOSED)
class Hello(TypedDict):
    user_id: Uuid
    session_id: Uuid
    last_seq: Annotated[int, Field(ge=0, description="the highest durable seq stored for this user")]
    heartbeat_s: Annotated[int, Field(description="the server pings this often; a dead peer is dropped within "
                                                  "twice this")]


@with_config(CLOSED)
class MatchCreated(TypedDict):
    match: Match


@with_config(CLOSED)
class MatchUpdated(TypedDict):
    match_id: Uuid
    state: MatchState
    by: NotRequired[Annotated[Uuid, Field(description="the user whose action changed the state, if any")]]
    reason: NotRequired[Annotated[str, Field(description="the unmatch reason, or why a block or deletion "
                                                         "ended it")]]


LikeReceived = TypedDict("LikeReceived", {  # "from" is a Python keyword: the functional form
    "like_id": Uuid,
    "from": Card,
    "comment": str | None,
})
LikeReceived.__pydantic_config__ = CLOSED  # type: ignore[attr-defined]  # with_config cannot wrap this form


@with_config(CLOSED)
class MessageCreated(TypedDict):
    message: Message


@with_config(CLOSED)
class MessageRead(TypedDict):
    match_id: Uuid
    reader_id: Uuid
    up_to: Annotated[Uuid, Field(description="the last message read (its id)")]


@with_config(CLOSED)
class Typing(TypedDict):
    match_id: Uuid
    user_id: Uuid


@with_config(CLOSED)
class PresenceChanged(TypedDict):
    user_id: Uuid
    online: bool


@with_config(CLOSED)
class DiscoveryCard(TypedDict):
    card: Card


@with_config(CLOSED)
class DiscoveryEmpty(TypedDict):
    pass


@with_config(CLOSED)
class AccountSuspendedNotice(TypedDict):
    until: NotRequired[Annotated[Timestamp | None, Field(description="absent or null for a ban")]]
    reason: str


@with_config(CLOSED)
class ModerationWarning(TypedDict):
    reason: Annotated[ReportReason, Field(description="the category of the report that led to the warning")]


@with_config(CLOSED)
class ModerationReport(TypedDict):
    report: QueueEntry


@with_config(CLOSED)
class ModerationResolved(TypedDict):
    report_id: Uuid
    action: Resolution
    moderator_id: Uuid
