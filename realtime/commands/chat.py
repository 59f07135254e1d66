"""Socket commands: chat (CONTRACT section 2 "Commands"; choices in docs/chat.md)."""

from __future__ import annotations

import uuid

from pydantic import Field

from domain.chat import rules
from domain.chat import service as chat
from domain.chat.one_call import mark_read_alone, send_alone
from domain.models.chat import MAX_BODY_CHARS, MAX_CLIENT_MSG_ID_CHARS
from domain.wire import replies as r
from realtime.context import CommandContext
from realtime.registry import REGISTRY, CommandInput


class SendIn(CommandInput):
    match_id: uuid.UUID
    body: str = Field(min_length=1, max_length=MAX_BODY_CHARS,
                      description="1 to 2,000 characters, not only whitespace; stored exactly as sent")
    client_msg_id: str = Field(min_length=1, max_length=MAX_CLIENT_MSG_ID_CHARS,
                               description="the client's id for this message; a retry with the same one "
                                           "returns the stored message instead of sending a second")


class HistoryIn(CommandInput):
    match_id: uuid.UUID
    before: uuid.UUID | None = Field(default=None, description="a message id of this match: page from there on")
    limit: int = Field(default=rules.HISTORY_DEFAULT_LIMIT, ge=1, le=rules.HISTORY_MAX_LIMIT)


class ReadIn(CommandInput):
    match_id: uuid.UUID
    up_to: uuid.UUID = Field(description="the newest message read; the position only moves forward")


class TypingIn(CommandInput):
    match_id: uuid.UUID


@REGISTRY.command("messages.send", SendIn, reply=r.SendReply,
                  summary="Send a message in a match; retrying with the same client_msg_id returns the same message.")
async def send(ctx: CommandContext, data: SendIn) -> r.SendReply:
    deps, sender = ctx.deps, ctx.principal.user_id
    words = deps.content_filter.words
    # one round trip for a plain message into an open match; the rest (flagged, archived) in a transaction
    sent = await send_alone(ctx.fetch_alone, deps.events, sender, data.match_id, data.body, data.client_msg_id, words)
    if sent is not None:
        return sent
    async with ctx.transaction() as session:
        return await chat.send(session, deps.events, sender, data.match_id, data.body, data.client_msg_id, words)


@REGISTRY.command("messages.history", HistoryIn, reply=r.HistoryReply,
                  summary="A page of a match's messages, newest first.")
async def history(ctx: CommandContext, data: HistoryIn) -> r.HistoryReply:
    async with ctx.ranked_read() as (session, read):  # the page may lag; message.created does not
        return await chat.history(session, ctx.principal.user_id, data.match_id, data.before, data.limit, read)


@REGISTRY.command("messages.read", ReadIn, reply=r.Empty,
                  summary="Mark a match's messages read up to one; both members' devices get message.read.")
async def read(ctx: CommandContext, data: ReadIn) -> r.Empty:
    return await mark_read_alone(ctx.fetch_alone, ctx.deps.events, ctx.principal.user_id, data.match_id, data.up_to)


@REGISTRY.command("typing", TypingIn, reply=r.Empty,
                  summary="Tell the other member you are typing (ephemeral; at most one event per 2 s).")
async def typing(ctx: CommandContext, data: TypingIn) -> r.Empty:
    deps = ctx.deps
    return await chat.typing(ctx.fetch_alone, deps.events, deps.typing, ctx.principal.user_id, data.match_id)
