"""Socket commands: chat (CONTRACT section 2 "Commands"; choices in docs/chat.md)."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, Field

from domain.chat import rules
from domain.chat import service as chat
from domain.models.chat import MAX_BODY_CHARS, MAX_CLIENT_MSG_ID_CHARS
from realtime.context import CommandContext
from realtime.event_schemas import MessageOut
from realtime.registry import REGISTRY, CommandInput


class SendIn(CommandInput):
    match_id: uuid.UUID
    body: str = Field(min_length=1, max_length=MAX_BODY_CHARS,
                      description="1 to 2,000 characters, not only whitespace; stored exactly as sent")
    client_msg_id: str = Field(min_length=1, max_length=MAX_CLIENT_MSG_ID_CHARS,
                               description="the client's id for this message; a retry with the same one "
                                           "returns the stored message instead of sending a second")


class SendReply(BaseModel):
    message: MessageOut


class HistoryIn(CommandInput):
    match_id: uuid.UUID
    before: uuid.UUID | None = Field(default=None, description="a message id of this match: page from there on")
    limit: int = Field(default=rules.HISTORY_DEFAULT_LIMIT, ge=1, le=rules.HISTORY_MAX_LIMIT)


class HistoryReply(BaseModel):
    messages: list[MessageOut] = Field(description="newest first")
    next_before: str | None = Field(description="pass as `before` for the next (older) page; null at the start")


class ReadIn(CommandInput):
    match_id: uuid.UUID
    up_to: uuid.UUID = Field(description="the newest message read; the position only moves forward")


class TypingIn(CommandInput):
    match_id: uuid.UUID


class EmptyReply(BaseModel):
    pass


@REGISTRY.command("messages.send", SendIn, reply=SendReply,
                  summary="Send a message in a match; retrying with the same client_msg_id returns the same message.")
async def send(ctx: CommandContext, data: SendIn) -> dict[str, Any]:
    async with ctx.transaction() as session:
        return await chat.send(session, ctx.deps.events, ctx.principal.user_id, data.match_id,
                               data.body, data.client_msg_id)


@REGISTRY.command("messages.history", HistoryIn, reply=HistoryReply,
                  summary="A page of a match's messages, newest first.")
async def history(ctx: CommandContext, data: HistoryIn) -> dict[str, Any]:
    async with ctx.transaction() as session:
        return await chat.history(session, ctx.principal.user_id, data.match_id, data.before, data.limit)


@REGISTRY.command("messages.read", ReadIn, reply=EmptyReply,
                  summary="Mark a match's messages read up to one; both members' devices get message.read.")
async def read(ctx: CommandContext, data: ReadIn) -> dict[str, Any]:
    async with ctx.transaction() as session:
        return await chat.mark_read(session, ctx.deps.events, ctx.principal.user_id,
                                    data.match_id, data.up_to)


@REGISTRY.command("typing", TypingIn, reply=EmptyReply,
                  summary="Tell the other member you are typing (ephemeral; at most one event per 2 s).")
async def typing(ctx: CommandContext, data: TypingIn) -> dict[str, Any]:
    deps = ctx.deps
    async with ctx.transaction() as session:
        return await chat.typing(session, deps.events, deps.typing,
                                 ctx.principal.user_id, data.match_id)
