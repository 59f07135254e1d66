"""The content filter's word list as moderators see it (CONTRACT section 2, moderator-only "safety")."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, with_config
from typing_extensions import TypedDict

from domain.wire.enums import WordAction
from domain.wire.scalars import CLOSED, Timestamp, Uuid


@with_config(CLOSED)
class FilterWord(TypedDict):
    """One pattern of the content filter (docs/safety.md has the matching rule)."""

    id: Uuid
    pattern: Annotated[str, Field(description="as the moderator typed it (trimmed)")]
    action: Annotated[WordAction, Field(description="block: the command is refused with content_blocked; flag: "
                                                    "accepted, and an automatic report is filed")]
    created_at: Timestamp
    created_by: Annotated[Uuid | None, Field(description="the moderator; null once their account is gone")]


@with_config(CLOSED)
class WordsReply(TypedDict):
    words: Annotated[list[FilterWord], Field(description="every pattern in force, oldest first")]


@with_config(CLOSED)
class WordReply(TypedDict):
    word: FilterWord
