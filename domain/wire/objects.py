"""The contract's objects: the own profile (``user``), ``card``, photo, prompt answer, match and message."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, with_config
from typing_extensions import TypedDict

from domain.wire.enums import AccountStatus, Gender, MatchState, Role, SafetyFlag
from domain.wire.scalars import CLOSED, Day, Timestamp, Uuid


@with_config(CLOSED)
class Photo(TypedDict):
    """A profile photo: the image and its thumbnail, in the owner's order."""

    id: Uuid
    url: str
    thumb_url: str
    position: Annotated[int, Field(ge=0, description="0 is shown first")]
    width: int
    height: int


@with_config(CLOSED)
class PromptAnswer(TypedDict):
    """A prompt its owner answered."""

    prompt_id: str
    text: Annotated[str, Field(description="the prompt as the catalogue words it")]
    answer: str


@with_config(CLOSED)
class Compatibility(TypedDict):
    """How two quizzes compare, as a card shows it."""

    score: Annotated[int, Field(ge=0, le=100, description="0 to 100: 100 - sum(|a-b|) / 24 * 100 over the "
                                                            "six traits")]
    summary: str


@with_config(CLOSED)
class Card(TypedDict):
    """What the app shows of another person: never email, birthdate, exact location or moderation data."""

    user_id: Uuid
    display_name: str
    age: int
    distance_km: Annotated[int | None, Field(description="between the two people's ~1 km grid cells, rounded to "
                                                         "whole km, at least 1; null when either side has no "
                                                         "location and on the card of a match that is no longer "
                                                         "active or dating")]
    photos: list[Photo]
    prompts: list[PromptAnswer]
    badges: Annotated[list[str], Field(description="in quiz order")]
    compatibility: Compatibility


@with_config(CLOSED)
class Location(TypedDict):
    """The centre of the person's ~1 km grid cell (the exact point is never stored)."""

    lat: float
    lon: float


@with_config(CLOSED)
class Account(TypedDict):
    """What both the owner and a moderator see first of an account (never another user)."""

    id: Uuid
    email: str
    display_name: str
    birthdate: Day
    age: int
    bio: str
    gender: Gender | None
    email_verified: Annotated[bool, Field(description="the owner followed the link of the verification mail "
                                                      "(docs/accounts.md)")]


@with_config(CLOSED)
class User(Account):
    """The caller's own full profile (``me.get``, ``me.update``, signup and login)."""

    interested_in: list[Gender]
    age_min: int
    age_max: int
    max_distance_km: int
    location: Location | None
    role: Role
    status: AccountStatus
    created_at: Timestamp
    photos: list[Photo]
    prompts: list[PromptAnswer]
    badges: Annotated[list[str], Field(description="in quiz order")]
    quiz: Annotated[dict[str, int] | None, Field(description="the submitted answers, null before the quiz")]
    discoverable: Annotated[bool, Field(description="active, >= 1 photo, quiz submitted, gender and location set "
                                                    "and interested_in not empty: only then can discovery show "
                                                    "the profile")]


@with_config(CLOSED)
class Match(TypedDict):
    """A match, with the other person's card."""

    id: Uuid
    state: MatchState
    matched_at: Timestamp
    user: Card


@with_config(CLOSED)
class LastMessage(TypedDict):
    """The newest message of a match as the inbox shows it."""

    id: Uuid
    sender_id: Uuid
    body: Annotated[str, Field(description="the first 140 characters")]
    created_at: Timestamp


@with_config(CLOSED)
class MatchItem(Match):
    """A match in ``matches.list``: the match object plus its timeline, the dating confirmations and the inbox."""

    last_message_at: Timestamp | None
    state_changed_at: Timestamp
    dating_confirmed_by_me: bool
    dating_confirmed_by_them: bool
    unread_count: Annotated[int, Field(ge=0, description="messages from the other person after your last "
                                                         "messages.read (all of theirs before your first)")]
    last_message: Annotated[LastMessage | None, Field(description="the newest message, either person's; null "
                                                                  "before the first")]


@with_config(CLOSED)
class Message(TypedDict):
    """A chat message of a match."""

    id: Uuid
    match_id: Uuid
    sender_id: Uuid
    body: str
    client_msg_id: str
    created_at: Timestamp
    safety: Annotated[list[SafetyFlag], Field(description="contact shielding: in a match's first 24 hours, what "
                                                         "the body seems to share (sorted, each once; empty "
                                                         "otherwise); apps show a warning (docs/safety.md)")]
