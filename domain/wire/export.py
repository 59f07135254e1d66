"""The personal-data export (``GET /v1/account/export``): everything stored about the caller, in one document.

Other people appear only as user ids and, for matches, as the card the app shows (without a distance).
What is included and what is left out, and why: docs/accounts.md "Personal-data export".
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, with_config
from typing_extensions import TypedDict

from domain.wire.enums import ActionKind, MatchState, ReportReason, UnmatchReason
from domain.wire.objects import Card, Message, User
from domain.wire.scalars import CLOSED, Day, Timestamp, Uuid

EXPORT_FORMAT = "delete-export/1"


@with_config(CLOSED)
class ExportAccount(TypedDict):
    """What the account row holds beyond the profile."""

    last_active_at: Timestamp
    updated_at: Timestamp
    suspended_until: Timestamp | None
    password_changed_at: Annotated[Timestamp | None, Field(description="null: never changed since signup")]
    last_pass_undo_at: Timestamp | None
    location_changes: Annotated[list[Timestamp], Field(description="when the location last changed grid cell "
                                                                   "(at most 10, oldest first)")]


@with_config(CLOSED)
class ExportLike(TypedDict):
    """A like: ``user_id`` is the other person (the liked one for likes sent, the liker for likes received)."""

    id: Uuid
    user_id: Uuid
    comment: str | None
    created_at: Timestamp


@with_config(CLOSED)
class ExportPass(TypedDict):
    user_id: Annotated[Uuid, Field(description="the person passed on")]
    created_at: Timestamp
    expires_at: Timestamp


@with_config(CLOSED)
class ExportMatch(TypedDict):
    """A match with all of its messages, oldest first."""

    id: Uuid
    user_id: Annotated[Uuid, Field(description="the other person")]
    user: Annotated[Card | None, Field(description="the other person's card as the app shows it, without a "
                                                   "distance (`distance_km` is null); null if it cannot be built")]
    state: MatchState
    matched_at: Timestamp
    state_changed_at: Timestamp
    last_message_at: Timestamp | None
    dating_confirmed_by_me: bool
    dating_confirmed_by_them: bool
    unmatched_by: Uuid | None
    unmatch_reason: UnmatchReason | None
    read_up_to: Annotated[Uuid | None, Field(description="the last message you marked read")]
    messages: Annotated[list[Message], Field(description="both people's messages, oldest first")]


@with_config(CLOSED)
class ExportBlock(TypedDict):
    user_id: Annotated[Uuid, Field(description="the person you blocked")]
    created_at: Timestamp


@with_config(CLOSED)
class ExportReport(TypedDict):
    """A report you made; the moderators' decision about the other person is theirs, not yours."""

    id: Uuid
    user_id: Annotated[Uuid, Field(description="the person you reported")]
    reason: ReportReason
    details: str | None
    created_at: Timestamp
    status: Literal["open", "resolved"]


@with_config(CLOSED)
class ExportEvent(TypedDict):
    """A durable event of your stream, as the socket delivered (or will deliver) it."""

    seq: int
    type: str
    data: dict[str, Any]
    created_at: Timestamp


@with_config(CLOSED)
class ExportModerationAction(TypedDict):
    """A moderation decision about you, without the moderators' note or who made it."""

    id: Uuid
    action: ActionKind
    days: int | None
    details: Annotated[dict[str, Any] | None, Field(description='{"photo_id"} or {"prompt_id", "answer"} of '
                                                                "removed content")]
    created_at: Timestamp


@with_config(CLOSED)
class ExportLogin(TypedDict):
    """A login (a device's session), and when and why it ended."""

    created_at: Timestamp
    revoked_at: Timestamp | None
    revoked_reason: str | None


@with_config(CLOSED)
class ExportLikeCount(TypedDict):
    day: Annotated[Day, Field(description="a UTC day")]
    count: Annotated[int, Field(description="likes sent that day (the daily limit's counter)")]


@with_config(CLOSED)
class AccountExport(TypedDict):
    """``GET /v1/account/export``: everything stored about the caller."""

    format: Literal["delete-export/1"]
    exported_at: Timestamp
    user: Annotated[User, Field(description="your profile as `me.get` returns it: photos with their URLs, "
                                            "prompts, badges, quiz answers, the grid cell of your location")]
    account: ExportAccount
    traits: Annotated[dict[str, float] | None, Field(description="the trait scores computed from your quiz, in "
                                                                 "quiz order; null before the quiz")]
    likes_sent: list[ExportLike]
    likes_received: list[ExportLike]
    passes: list[ExportPass]
    matches: list[ExportMatch]
    blocks: list[ExportBlock]
    reports: list[ExportReport]
    events: Annotated[list[ExportEvent], Field(description="your durable event stream, oldest first")]
    moderation_actions: list[ExportModerationAction]
    logins: list[ExportLogin]
    daily_likes: list[ExportLikeCount]
