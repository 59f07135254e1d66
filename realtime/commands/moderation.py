"""Socket commands: moderation (CONTRACT section 2 "Commands", moderator-only; docs/moderation.md).

The dispatcher refuses these to anyone whose socket did not authenticate as a
moderator; each command also re-checks the role in the database, so a demotion
takes effect at once.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import Field

from domain.models.moderation import MAX_NOTE_CHARS, MAX_SUSPENSION_DAYS
from domain.moderation import service as moderation
from domain.wire import moderation as m
from domain.wire.enums import Resolution
from realtime.context import CommandContext
from realtime.registry import REGISTRY, CommandInput, NoInput

MODERATOR = "moderator"


# -- inputs ------------------------------------------------------------------------------------------

def _note() -> Any:
    return Field(max_length=MAX_NOTE_CHARS, description="why, for the audit log (1 to 2000 characters)")


class ModeratedUserIn(CommandInput):
    user_id: uuid.UUID


class ResolveIn(CommandInput):
    report_id: uuid.UUID
    action: Resolution
    note: str = _note()
    days: int | None = Field(default=None, description=f"suspend only, and required there: 1 to {MAX_SUSPENSION_DAYS}")


class RemovePhotoIn(CommandInput):
    user_id: uuid.UUID
    photo_id: uuid.UUID
    note: str = _note()
    report_id: uuid.UUID | None = Field(default=None, description="the report this removal answers, if any")


class RemovePromptIn(CommandInput):
    user_id: uuid.UUID
    prompt_id: str = Field(max_length=48)
    note: str = _note()
    report_id: uuid.UUID | None = Field(default=None, description="the report this removal answers, if any")


# -- commands -------------------------------------------------------------------------------------------

@REGISTRY.command("moderation.subscribe", NoInput, role=MODERATOR, reply=m.SubscribeReply,
                  summary="Snapshot of the open report queue (newest first, with counts and triage signals); "
                          "then live moderation.report and moderation.resolved events on this socket.")
async def subscribe(ctx: CommandContext, data: NoInput) -> m.SubscribeReply:
    def start_feed() -> None:
        ctx.deps.hub.join_moderators(ctx.connection)

    async with ctx.transaction() as session:
        return await moderation.subscribe(session, ctx.principal.user_id, start_feed)


@REGISTRY.command("moderation.user", ModeratedUserIn, role=MODERATOR, reply=m.DossierReply,
                  summary="One account for judging: profile, photos, prompts, reports made and received, "
                          "blocks received and recent moderation actions.")
async def user(ctx: CommandContext, data: ModeratedUserIn) -> m.DossierReply:
    async with ctx.transaction() as session:
        return await moderation.dossier(session, ctx.deps.storage, ctx.principal.user_id, data.user_id)


@REGISTRY.command("moderation.resolve", ResolveIn, role=MODERATOR, reply=m.ResolveReply,
                  summary="Resolve an open report: dismiss, warn, suspend (days) or ban; resolving twice is "
                          "a conflict. Suspend and ban close the user's sockets with 4403 and revoke their logins.")
async def resolve(ctx: CommandContext, data: ResolveIn) -> m.ResolveReply:
    async with ctx.transaction() as session:
        return await moderation.resolve(session, ctx.deps.events, ctx.principal.user_id,
                                        data.report_id, data.action, data.note, data.days)


@REGISTRY.command("moderation.remove_photo", RemovePhotoIn, role=MODERATOR, reply=m.RemoveReply,
                  summary="Remove one photo of a user (audited).")
async def remove_photo(ctx: CommandContext, data: RemovePhotoIn) -> m.RemoveReply:
    async with ctx.transaction() as session:
        return await moderation.remove_photo(session, ctx.deps.storage, ctx.principal.user_id, data.user_id,
                                             data.photo_id, data.note, data.report_id)


@REGISTRY.command("moderation.remove_prompt", RemovePromptIn, role=MODERATOR, reply=m.RemoveReply,
                  summary="Remove one prompt answer of a user (audited; the audit keeps the text).")
async def remove_prompt(ctx: CommandContext, data: RemovePromptIn) -> m.RemoveReply:
    async with ctx.transaction() as session:
        return await moderation.remove_prompt(session, ctx.principal.user_id, data.user_id, data.prompt_id,
                                              data.note, data.report_id)
