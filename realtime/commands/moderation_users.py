"""Socket commands: finding accounts, deciding without a report, and the live statistics (docs/moderation.md).

Moderator-only, like every ``moderation.`` command: the dispatcher refuses other sockets, and each command
re-checks the role in the database.
"""

from __future__ import annotations

import uuid

from pydantic import Field

from domain.models.moderation import MAX_NOTE_CHARS, MAX_SUSPENSION_DAYS
from domain.moderation import acting, search, stats
from domain.wire import moderation as m
from domain.wire.enums import ModerationAct, ReportReason
from realtime.context import CommandContext
from realtime.registry import REGISTRY, CommandInput, NoInput

MODERATOR = "moderator"


class SearchIn(CommandInput):
    query: str = Field(max_length=search.MAX_QUERY_CHARS,
                       description="an email prefix, the start of a display name (both case-insensitive) "
                                   "or a user id")


class ActIn(CommandInput):
    user_id: uuid.UUID
    action: ModerationAct
    note: str = Field(max_length=MAX_NOTE_CHARS, description="why, for the audit log (1 to 2000 characters)")
    days: int | None = Field(default=None, description=f"suspend only, and required there: 1 to {MAX_SUSPENSION_DAYS}")
    reason: ReportReason | None = Field(default=None, description="the category the user is told in "
                                                                   "moderation.warning / account.suspended (an "
                                                                   "addition to the contract; default other); "
                                                                   "refused with reinstate")


@REGISTRY.command("moderation.search", SearchIn, role=MODERATOR, reply=m.SearchReply,
                  summary="Find accounts by exact user id, email prefix or display-name prefix (case-insensitive; "
                          "at most 20), each with its status and the number of reports received.")
async def search_users(ctx: CommandContext, data: SearchIn) -> m.SearchReply:
    async with ctx.transaction() as session, ctx.replica() as read:
        return await search.search(session, ctx.principal.user_id, data.query, read)


@REGISTRY.command("moderation.act", ActIn, role=MODERATOR, reply=m.ActReply,
                  summary="Decide about an account without a report: warn, suspend (days), ban, or reinstate "
                          "(lift a suspension or ban). Same effects and audit as moderation.resolve.")
async def act(ctx: CommandContext, data: ActIn) -> m.ActReply:
    async with ctx.transaction() as session:
        return await acting.act(session, ctx.deps.events, ctx.principal.user_id, data.user_id, data.action,
                                data.note, data.days, data.reason)


@REGISTRY.command("moderation.stats", NoInput, role=MODERATOR, reply=m.StatsReply,
                  summary="The live panel: people online now (all nodes), signups, matches and messages since "
                          "00:00 UTC, open reports, photos waiting and the median time to resolve a report (7 days).")
async def statistics(ctx: CommandContext, data: NoInput) -> m.StatsReply:
    async with ctx.transaction() as session, ctx.replica() as read:
        return await stats.stats(session, ctx.principal.user_id, ctx.deps.presence.online_count, read=read)
