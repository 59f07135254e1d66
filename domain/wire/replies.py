"""The ``data`` of each command's success reply (moderators' replies are in ``moderation``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, with_config
from typing_extensions import TypedDict

from domain.wire.enums import MatchState
from domain.wire.objects import Card, Match, MatchItem, Message, PromptAnswer, User
from domain.wire.scalars import CLOSED, Timestamp, Uuid

# -- the socket itself ---------------------------------------------------------------------------------------


@with_config(CLOSED)
class Empty(TypedDict):
    """No data: ``{}``."""


@with_config(CLOSED)
class PingReply(TypedDict):
    time: Timestamp


@with_config(CLOSED)
class AuthReply(TypedDict):
    expires_at: Annotated[Timestamp, Field(description="when the new access token expires")]


@with_config(CLOSED)
class SyncReply(TypedDict):
    last_seq: Annotated[int, Field(description="the highest durable seq after the replay")]


# -- profile -------------------------------------------------------------------------------------------------


@with_config(CLOSED)
class UserReply(TypedDict):
    user: User


@with_config(CLOSED)
class CatalogPrompt(TypedDict):
    id: str
    text: str


@with_config(CLOSED)
class CatalogReply(TypedDict):
    prompts: list[CatalogPrompt]


@with_config(CLOSED)
class PromptsReply(TypedDict):
    prompts: Annotated[list[PromptAnswer], Field(description="the caller's answers, in catalogue order")]


@with_config(CLOSED)
class Question(TypedDict):
    trait: str
    question: str
    labels: Annotated[dict[str, str], Field(description='"1" to "5": the words of each point of the scale')]


@with_config(CLOSED)
class QuestionsReply(TypedDict):
    questions: list[Question]


@with_config(CLOSED)
class QuizReply(TypedDict):
    traits: Annotated[dict[str, int], Field(description="the stored answers in quiz order")]
    badges: Annotated[list[str], Field(description="earned by answers 1-2 (the low pole) or 4-5 (the high pole)")]


@with_config(CLOSED)
class BadgesReply(TypedDict):
    badges: Annotated[list[str], Field(description="in quiz order")]


@with_config(CLOSED)
class TraitComparison(TypedDict):
    trait: str
    difference: int
    label: str


@with_config(CLOSED)
class CompatibilityReply(TypedDict):
    score: Annotated[int, Field(ge=0, le=100)]
    summary: str
    traits: list[TraitComparison]
    highlights: list[str]


# -- discovery -----------------------------------------------------------------------------------------------


@with_config(CLOSED)
class DiscoveryReply(TypedDict):
    sent: Annotated[int, Field(description="how many discovery.card events were pushed before this reply")]


# -- likes, passes, matches, reports -------------------------------------------------------------------------


@with_config(CLOSED)
class LikeReply(TypedDict):
    like_id: Uuid
    match: Annotated[Match | None, Field(description="the match this like made, or null")]
    likes_left_today: int


@with_config(CLOSED)
class PassReply(TypedDict):
    expires_at: Timestamp


PendingLike = TypedDict("PendingLike", {  # "from" is a Python keyword: the functional form
    "like_id": Uuid,
    "from": Card,
    "comment": str | None,
    "created_at": Timestamp,
})
PendingLike.__pydantic_config__ = CLOSED  # type: ignore[attr-defined]  # with_config cannot wrap this form


@with_config(CLOSED)
class PendingReply(TypedDict):
    likes: Annotated[list[PendingLike], Field(description="newest first")]


@with_config(CLOSED)
class MatchesReply(TypedDict):
    matches: Annotated[list[MatchItem], Field(description="newest match first")]
    next_cursor: Annotated[str | None, Field(description="null on the last page")]


@with_config(CLOSED)
class StateReply(TypedDict):
    match_id: Uuid
    state: MatchState


@with_config(CLOSED)
class DatingReply(StateReply):
    dating_confirmed_by_me: bool
    dating_confirmed_by_them: bool


@with_config(CLOSED)
class ReportReply(TypedDict):
    report_id: Uuid


# -- chat ----------------------------------------------------------------------------------------------------


@with_config(CLOSED)
class SendReply(TypedDict):
    message: Message


@with_config(CLOSED)
class HistoryReply(TypedDict):
    messages: Annotated[list[Message], Field(description="newest first")]
    next_before: Annotated[Uuid | None, Field(description="pass as `before` for the next (older) page; null at "
                                                          "the start")]

