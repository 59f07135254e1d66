"""Socket commands: likes, passes, matches, block, report and account deletion (CONTRACT section 2 "Commands")."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import Field

from domain.accounts import deletion
from domain.models.moderation import MAX_DETAILS_CHARS
from domain.safety.screen import screen
from domain.social import blocks, likes, matches, passes, reports, rules
from domain.social.like_alone import like_alone
from domain.transaction import after_commit
from domain.wire import replies as r
from domain.wire.enums import MatchState, ReportReason, UnmatchReason
from realtime import discovery_live, frames
from realtime.context import CommandContext
from realtime.registry import DEFERRED, REGISTRY, CommandInput, NoInput


class PersonIn(CommandInput):
    user_id: uuid.UUID


class LikeIn(CommandInput):
    user_id: uuid.UUID
    comment: str | None = Field(default=None, description="10-500 characters; required on your first 5 likes ever")


class MatchesIn(CommandInput):
    states: list[MatchState] | None = Field(default=None, min_length=1,
                                            description="default: active, dating and archived")
    cursor: str | None = Field(default=None, max_length=200, description="next_cursor of the previous page")
    limit: int = Field(default=rules.LIST_DEFAULT_LIMIT, ge=1, le=rules.LIST_MAX_LIMIT)


class MatchIn(CommandInput):
    match_id: uuid.UUID


class UnmatchIn(CommandInput):
    match_id: uuid.UUID
    reason: UnmatchReason


class ReportIn(CommandInput):
    user_id: uuid.UUID
    reason: ReportReason
    details: str | None = Field(default=None, max_length=MAX_DETAILS_CHARS)


@REGISTRY.command("like", LikeIn, summary="Like someone; a like back makes a match.", reply=r.LikeReply)
async def like(ctx: CommandContext, data: LikeIn) -> r.LikeReply:
    reply = await _like(ctx, data)
    discovery_live.forget_shown(ctx.connection, data.user_id)  # liked: no batch shows them again
    return reply


async def _like(ctx: CommandContext, data: LikeIn) -> r.LikeReply:
    deps, words = ctx.deps, ctx.deps.content_filter.words
    # two round trips (the cards, then one call that is its own transaction); a flagged comment in a transaction
    liked = await like_alone(ctx.fetch_alone, deps.events, deps.storage, words, ctx.principal.user_id,
                             data.user_id, data.comment)
    if liked is not None:
        return liked
    async with ctx.transaction() as session:
        await screen(session, deps.events, words, ctx.principal.user_id, {"comment": data.comment})
        return await likes.like(session, deps.events, deps.storage, ctx.principal.user_id, data.user_id,
                                data.comment)


@REGISTRY.command("pass", PersonIn, summary="Hide someone for 30 days.", reply=r.PassReply)
async def pass_(ctx: CommandContext, data: PersonIn) -> r.PassReply:
    # the pass is one statement (domain/social/pass_function.py), run alone: its own transaction, one round trip
    reply = await passes.pass_on(ctx.fetch_alone, ctx.principal.user_id, data.user_id)
    discovery_live.forget_shown(ctx.connection, data.user_id)  # passed: no batch shows them for 30 days
    return reply


@REGISTRY.command("pass.undo", PersonIn, summary="Take back an active pass (once per 7 days).", reply=r.Empty)
async def pass_undo(ctx: CommandContext, data: PersonIn) -> r.Empty:
    async with ctx.transaction() as session:
        return await passes.undo(session, ctx.deps.events, ctx.principal.user_id, data.user_id)


@REGISTRY.command("likes.pending", NoInput, summary="Who liked you and is waiting for an answer.",
                  reply=r.PendingReply)
async def likes_pending(ctx: CommandContext, data: NoInput) -> r.PendingReply:
    async with ctx.lagging_read() as session:
        return await likes.pending(session, ctx.deps.storage, ctx.principal.user_id)


@REGISTRY.command("matches.list", MatchesIn, summary="Your matches, newest first, paged.", reply=r.MatchesReply)
async def matches_list(ctx: CommandContext, data: MatchesIn) -> r.MatchesReply:
    async with ctx.lagging_read() as session:
        return await matches.list_matches(session, ctx.deps.storage, ctx.principal.user_id, data.states,
                                          data.cursor, data.limit)


@REGISTRY.command("match.unmatch", UnmatchIn, summary="End an active match.", reply=r.StateReply)
async def match_unmatch(ctx: CommandContext, data: UnmatchIn) -> r.StateReply:
    async with ctx.transaction() as session:
        return await matches.unmatch(session, ctx.deps.events, ctx.principal.user_id, data.match_id,
                                     data.reason)


@REGISTRY.command("match.dating", MatchIn, summary="Confirm you are dating; when both have, the match is dating.",
                  reply=r.DatingReply)
async def match_dating(ctx: CommandContext, data: MatchIn) -> r.DatingReply:
    async with ctx.transaction() as session:
        return await matches.confirm_dating(session, ctx.deps.events, ctx.principal.user_id,
                                            data.match_id)


@REGISTRY.command("match.end_dating", MatchIn, summary="Stop dating: the match is archived.", reply=r.StateReply)
async def match_end_dating(ctx: CommandContext, data: MatchIn) -> r.StateReply:
    async with ctx.transaction() as session:
        return await matches.end_dating(session, ctx.deps.events, ctx.principal.user_id,
                                        data.match_id)


@REGISTRY.command("block", PersonIn, summary="Block someone for good, both ways; ends any match.", reply=r.Empty)
async def block(ctx: CommandContext, data: PersonIn) -> r.Empty:
    async with ctx.transaction() as session:
        return await blocks.block(session, ctx.deps.events, ctx.principal.user_id, data.user_id)


@REGISTRY.command("report", ReportIn, summary="Report someone to the moderators (also blocks them).",
                  reply=r.ReportReply)
async def report(ctx: CommandContext, data: ReportIn) -> r.ReportReply:
    async with ctx.transaction() as session:
        return await reports.report(session, ctx.deps.events, ctx.principal.user_id, data.user_id,
                                    data.reason, data.details)


@REGISTRY.command("account.delete", NoInput, summary="Delete your account; your sockets close with 1000.",
                  reply=r.Empty)
async def account_delete(ctx: CommandContext, data: NoInput) -> None:
    deps = ctx.deps
    async with ctx.transaction() as session:
        # the reply is queued right after commit, before the close (published after commit too) can arrive
        after_commit(session, _reply_now(ctx))
        await deletion.delete_account(session, deps.events, deps.storage, ctx.principal.user_id)
    return DEFERRED


def _reply_now(ctx: CommandContext) -> Any:
    async def push() -> None:
        ctx.connection.push(frames.reply_ok(ctx.ref, {}))

    return push
