"""The ``data`` of every server event (CONTRACT section 2 "Events"), registered for the protocol description.

These models are the documentation of what the server pushes and the schema
that event payloads are checked against: field names are the contract's.
Objects are closed (``extra="forbid"``) so a leaked field, such as an email in
a ``card``, fails a schema check; ``?`` fields of the contract are optional.
``reply`` is not an event but the frame that answers a command; it is
registered here with its full frame model so it is documented in one place.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from realtime.registry import REGISTRY

MatchState = Literal["active", "unmatched", "archived", "dating", "deleted"]
ReportReason = Literal["fake_profile", "inappropriate_content", "harassment", "spam", "underage", "other"]
Resolution = Literal["dismiss", "warn", "suspend", "ban"]
ErrorCode = Literal[
    "bad_request", "validation_error", "unauthorized", "token_reused", "forbidden", "not_found", "conflict",
    "email_taken", "invalid_credentials", "account_suspended", "rate_limited", "daily_limit_reached",
    "comment_required", "spam_detected", "photo_limit", "prompt_limit", "internal", "invalid_token",
    "content_blocked",
]


class EventData(BaseModel):
    """Base of event payloads: exactly the documented fields."""

    model_config = ConfigDict(extra="forbid")


class CardPhoto(EventData):
    id: str
    url: str
    thumb_url: str
    position: int
    width: int
    height: int


class CardPrompt(EventData):
    prompt_id: str
    text: str = Field(description="the prompt as the catalogue words it")
    answer: str


class CardCompatibility(EventData):
    score: float = Field(ge=0, le=100, description="0 to 100: 100 - sum(|a-b|) / 24 * 100 over the six traits")
    summary: str


class Card(EventData):
    """What the app shows of another person: never email, birthdate, exact location or moderation data."""

    user_id: str
    display_name: str
    age: int
    distance_km: int | None = Field(description="between the two people's ~1 km grid cells, rounded to whole km, "
                                                "at least 1; null when either side has no location and on the "
                                                "card of a match that is no longer active or dating")
    photos: list[CardPhoto]
    prompts: list[CardPrompt]
    badges: list[str]
    compatibility: CardCompatibility


class Hello(EventData):
    user_id: str
    session_id: str
    last_seq: int = Field(ge=0, description="the highest durable seq stored for this user")
    heartbeat_s: int = Field(description="the server pings this often; a dead peer is dropped within twice this")


class MatchOut(EventData):
    id: str
    state: MatchState
    matched_at: str
    user: Card


class MatchCreated(EventData):
    match: MatchOut


class MatchUpdated(EventData):
    match_id: str
    state: MatchState
    by: str | None = Field(default=None, description="the user whose action changed the state, if any")
    reason: str | None = Field(default=None, description="the unmatch reason, or why a block or deletion ended it")


class LikeReceived(EventData):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    like_id: str
    from_: Card = Field(alias="from")
    comment: str | None


class MessageOut(EventData):
    id: str
    match_id: str
    sender_id: str
    body: str
    client_msg_id: str
    created_at: str


class MessageCreated(EventData):
    message: MessageOut


class MessageRead(EventData):
    match_id: str
    reader_id: str
    up_to: str = Field(description="the last message read (its id)")


class Typing(EventData):
    match_id: str
    user_id: str


class PresenceChanged(EventData):
    user_id: str
    online: bool


class DiscoveryCard(EventData):
    card: Card


class DiscoveryEmpty(EventData):
    pass


class AccountSuspendedNotice(EventData):
    until: str | None = Field(default=None, description="absent or null for a ban")
    reason: str


class ReportOut(BaseModel):
    """A report as the moderators' dashboard sees it; more fields may follow the listed ones."""

    model_config = ConfigDict(extra="allow")

    id: str
    reporter_id: str
    reported_id: str
    reason: ReportReason
    details: str | None
    created_at: str


class ModerationReport(EventData):
    report: ReportOut


class ModerationResolved(EventData):
    report_id: str
    action: Resolution
    moderator_id: str


class ErrorBody(EventData):
    code: ErrorCode
    message: str
    details: dict[str, Any] | None = None


class ReplyOk(EventData):
    type: Literal["reply"]
    ref: str | int | None = Field(description="the command's ref, echoed")
    ok: Literal[True]
    data: dict[str, Any]


class ReplyError(EventData):
    type: Literal["reply"]
    ref: str | int | None = Field(description="the command's ref, echoed (null when it could not be read)")
    ok: Literal[False]
    error: ErrorBody


class Reply(RootModel[ReplyOk | ReplyError]):
    """The answer to one command: ``data`` when ``ok``, else ``error`` (a whole frame, not a ``data``)."""


REGISTRY.event("hello", Hello, durable=False, summary="First frame after authentication.")
REGISTRY.event("reply", Reply, durable=False, summary="The answer to a command, carrying its ref.")
REGISTRY.event("match.created", MatchCreated, durable=True, summary="A like became mutual; sent to both users.")
REGISTRY.event("match.updated", MatchUpdated, durable=True,
               summary="A match changed state (also when a block or a deletion ends it).")
REGISTRY.event("like.received", LikeReceived, durable=True, summary="Someone liked you.")
REGISTRY.event("message.created", MessageCreated, durable=True,
               summary="A message in one of your matches, to both members' devices.")
REGISTRY.event("message.read", MessageRead, durable=True, summary="A match member read messages up to one.")
REGISTRY.event("typing", Typing, durable=False, summary="The other member of a match is typing.")
REGISTRY.event("presence", PresenceChanged, durable=False, summary="A match partner came online or went offline.")
REGISTRY.event("discovery.card", DiscoveryCard, durable=False, summary="One profile to consider.")
REGISTRY.event("discovery.empty", DiscoveryEmpty, durable=False, summary="No profile is left to show for now.")
REGISTRY.event("account.suspended", AccountSuspendedNotice, durable=True,
               summary="Your account was suspended or banned; the socket closes with 4403.")
REGISTRY.event("moderation.report", ModerationReport, durable=False,
               summary="Moderators: a report in the open queue (snapshot, then live).")
REGISTRY.event("moderation.resolved", ModerationResolved, durable=False, summary="Moderators: a report was resolved.")
