"""Socket commands: likes, passes, matches, block, report and account deletion (CONTRACT section 2 "Commands")."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.accounts import deletion
from domain.models.moderation import MAX_DETAILS_CHARS
from domain.social import blocks, likes, matches, passes, reports, rules
from domain.transaction import after_commit
from realtime import frames
from realtime.context import CommandContext
from realtime.event_schemas import Card, MatchOut, MatchState, ReportReason
from realtime.registry import DEFERRED, REGISTRY, CommandInput, NoInput

UnmatchReason = Literal["not_interested", "no_response", "inappropriate", "met_offline", "other"]


class UserIn(CommandInput):
    user_id: uuid.UUID


class LikeIn(CommandInput):
    user_id: uuid.UUID
    comment: str | None = Field(default=None, description="10-500 characters; required on your first 5 likes ever")


class LikeReply(BaseModel):
    like_id: str
    match: MatchOut | None = Field(description="the match this like made, or null")
    likes_left_today: int


class PassReply(BaseModel):
    expires_at: str


class Empty(BaseModel):
    pass


class PendingLike(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    like_id: str
    from_: Card = Field(alias="from")
    comment: str | None
    created_at: str


class PendingReply(BaseModel):
    likes: list[PendingLike] = Field(description=f"newest first, at most {rules.PENDING_LIMIT}")


class MatchesIn(CommandInput):
    states: list[MatchState] | None = Field(default=None, min_length=1,
                                            description="default: active, dating and archived")
    cursor: str | None = Field(default=None, max_length=200, description="next_cursor of the previous page")
    limit: int = Field(default=rules.LIST_DEFAULT_LIMIT, ge=1, le=rules.LIST_MAX_LIMIT)


class MatchItem(BaseModel):
    id: str
    state: MatchState
    matched_at: str
    user: Card
    last_message_at: str | None
    state_changed_at: str
    dating_confirmed_by_me: bool
    dating_confirmed_by_them: bool


class MatchesReply(BaseModel):
    matches: list[MatchItem] = Field(description="newest match first")
    next_cursor: str | None = Field(description="null on the last page")


class MatchIn(CommandInput):
    match_id: uuid.UUID


class UnmatchIn(CommandInput):
    match_id: uuid.UUID
    reason: UnmatchReason


class StateReply(BaseModel):
    match_id: str
    state: MatchState


class DatingReply(StateReply):
    dating_confirmed_by_me: bool
    dating_confirmed_by_them: bool


class ReportIn(CommandInput):
    user_id: uuid.UUID
    reason: ReportReason
    details: str | None = Field(default=None, max_length=MAX_DETAILS_CHARS)


class ReportReply(BaseModel):
    report_id: str


@REGISTRY.command("like", LikeIn, summary="Like someone; a like back makes a match.", reply=LikeReply)
async def like(ctx: CommandContext, data: LikeIn) -> dict[str, Any]:
    deps = ctx.deps
    async with ctx.transaction() as session:
        return await likes.like(session, deps.events, deps.storage, ctx.principal.user_id, data.user_id,
                                data.comment)


@REGISTRY.command("pass", UserIn, summary="Hide someone for 30 days.", reply=PassReply)
async def pass_(ctx: CommandContext, data: UserIn) -> dict[str, Any]:
    async with ctx.transaction() as session:
        return await passes.pass_on(session, ctx.principal.user_id, data.user_id)


@REGISTRY.command("pass.undo", UserIn, summary="Take back an active pass (once per 7 days).", reply=Empty)
async def pass_undo(ctx: CommandContext, data: UserIn) -> dict[str, Any]:
    async with ctx.transaction() as session:
        return await passes.undo(session, ctx.deps.events, ctx.principal.user_id, data.user_id)


@REGISTRY.command("likes.pending", NoInput, summary="Who liked you and is waiting for an answer.",
                  reply=PendingReply)
async def likes_pending(ctx: CommandContext, data: NoInput) -> dict[str, Any]:
    async with ctx.transaction() as session:
        return await likes.pending(session, ctx.deps.storage, ctx.principal.user_id)


@REGISTRY.command("matches.list", MatchesIn, summary="Your matches, newest first, paged.", reply=MatchesReply)
async def matches_list(ctx: CommandContext, data: MatchesIn) -> dict[str, Any]:
    async with ctx.transaction() as session:
        return await matches.list_matches(session, ctx.deps.storage, ctx.principal.user_id, data.states,
                                          data.cursor, data.limit)


@REGISTRY.command("match.unmatch", UnmatchIn, summary="End an active match.", reply=StateReply)
async def match_unmatch(ctx: CommandContext, data: UnmatchIn) -> dict[str, Any]:
    async with ctx.transaction() as session:
        return await matches.unmatch(session, ctx.deps.events, ctx.principal.user_id, data.match_id,
                                     data.reason)


@REGISTRY.command("match.dating", MatchIn, summary="Confirm you are dating; when both have, the match is dating.",
                  reply=DatingReply)
async def match_dating(ctx: CommandContext, data: MatchIn) -> dict[str, Any]:
    async with ctx.transaction() as session:
        return await matches.confirm_dating(session, ctx.deps.events, ctx.principal.user_id,
                                            data.match_id)


@REGISTRY.command("match.end_dating", MatchIn, summary="Stop dating: the match is archived.", reply=StateReply)
async def match_end_dating(ctx: CommandContext, data: MatchIn) -> dict[str, Any]:
    async with ctx.transaction() as session:
        return await matches.end_dating(session, ctx.deps.events, ctx.principal.user_id,
                                        data.match_id)


@REGISTRY.command("block", UserIn, summary="Block someone for good, both ways; ends any match.", reply=Empty)
async def block(ctx: CommandContext, data: UserIn) -> dict[str, Any]:
    async with ctx.transaction() as session:
        return await blocks.block(session, ctx.deps.events, ctx.principal.user_id, data.user_id)


@REGISTRY.command("report", ReportIn, summary="Report someone to the moderators (also blocks them).",
                  reply=ReportReply)
async def report(ctx: CommandContext, data: ReportIn) -> dict[str, Any]:
    async with ctx.transaction() as session:
        return await reports.report(session, ctx.deps.events, ctx.principal.user_id, data.user_id,
                                    data.reason, data.details)


@REGISTRY.command("account.delete", NoInput, summary="Delete your account; your sockets close with 1000.",
                  reply=Empty)
async def account_delete(ctx: CommandContext, data: NoInput) -> dict[str, Any] | None:
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
