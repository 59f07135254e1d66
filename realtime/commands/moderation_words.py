"""Socket commands: the content filter's word list (CONTRACT section 2, moderator-only "safety"; docs/safety.md)."""

from __future__ import annotations

import uuid

from pydantic import Field

from domain.models.safety import MAX_PATTERN_CHARS
from domain.safety import words
from domain.wire import replies as r
from domain.wire import safety as s
from domain.wire.enums import WordAction
from realtime.context import CommandContext
from realtime.registry import REGISTRY, CommandInput, NoInput

MODERATOR = "moderator"


class AddWordIn(CommandInput):
    pattern: str = Field(min_length=1, max_length=MAX_PATTERN_CHARS,
                         description="a word or a few words, matched as whole words after normalisation; end it "
                                     "with * to match every word starting with it (docs/safety.md)")
    action: WordAction


class RemoveWordIn(CommandInput):
    id: uuid.UUID = Field(description="a pattern id from moderation.words.list")


@REGISTRY.command("moderation.words.list", NoInput, role=MODERATOR, reply=s.WordsReply,
                  summary="The content filter's patterns in force, oldest first.")
async def list_words(ctx: CommandContext, data: NoInput) -> s.WordsReply:
    async with ctx.transaction() as session:
        return await words.list_words(session, ctx.principal.user_id)


@REGISTRY.command("moderation.words.add", AddWordIn, role=MODERATOR, reply=s.WordReply,
                  summary="Add a pattern (block: refuse the text with content_blocked; flag: accept it and file "
                          "an automatic report). Every node applies it within 2 s.")
async def add_word(ctx: CommandContext, data: AddWordIn) -> s.WordReply:
    async with ctx.transaction() as session:
        return await words.add_word(session, ctx.deps.content_filter, ctx.principal.user_id, data.pattern,
                                    data.action)


@REGISTRY.command("moderation.words.remove", RemoveWordIn, role=MODERATOR, reply=r.Empty,
                  summary="Take a pattern off the list (kept as history). Every node applies it within 2 s.")
async def remove_word(ctx: CommandContext, data: RemoveWordIn) -> r.Empty:
    async with ctx.transaction() as session:
        return await words.remove_word(session, ctx.deps.content_filter, ctx.principal.user_id, data.id)
