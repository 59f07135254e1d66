"""Socket commands: moderation (CONTRACT section 2 "Commands", moderator-only; docs/moderation.md).

The dispatcher refuses these to anyone whose socket did not authenticate as a
moderator; each command also re-checks the role in the database, so a demotion
takes effect at once.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field

from domain.models.moderation import MAX_NOTE_CHARS, MAX_SUSPENSION_DAYS
from domain.moderation import service as moderation
from realtime.context import CommandContext
from realtime.event_schemas import CardPhoto, CardPrompt, EventData, ReportOut, ReportReason, Resolution
from realtime.registry import REGISTRY, CommandInput, NoInput

MODERATOR = "moderator"


# -- events this area adds to the contract's table ----------------------------------------------------

class ModerationWarning(EventData):
    reason: ReportReason = Field(description="the category of the report that led to the warning")


REGISTRY.event("moderation.warning", ModerationWarning, durable=True,
               summary="A moderator warned you about your behaviour (durable: replayed by sync).")


# -- inputs ------------------------------------------------------------------------------------------

def _note() -> Any:
    return Field(max_length=MAX_NOTE_CHARS, description="why, for the audit log (1 to 2000 characters)")


class UserIn(CommandInput):
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


# -- replies (documentation) ------------------------------------------------------------------------------

class ReportedUser(BaseModel):
    display_name: str
    status: Literal["active", "suspended", "banned", "deleted"]
    suspended_until: str | None


class Signals(BaseModel):
    distinct_reporters_7d: int = Field(description="distinct people who reported this user in the last 7 days")
    reporter_account_age_days: int
    reporter_reports_made: int = Field(description="distinct people the reporter has reported")
    reporter_reports_dismissed: int = Field(description="of those, how many the moderators dismissed")


class QueueEntry(ReportOut):
    """A ``moderation.report`` report plus the reported user and the triage signals."""

    status: Literal["open"]
    reported: ReportedUser
    signals: Signals


class QueueCounts(BaseModel):
    open: int = Field(description="open queue entries (one per reporter and reported user)")
    reported_users: int


class SubscribeReply(BaseModel):
    reports: list[QueueEntry] = Field(description="newest first, at most 500")
    counts: QueueCounts


class ReportView(ReportOut):
    status: Literal["open", "resolved"]
    resolution: Resolution | None
    resolution_note: str | None
    resolved_by: str | None
    resolved_at: str | None


class ActionView(BaseModel):
    id: str
    moderator_id: str | None
    target_user_id: str
    report_id: str | None
    action: Literal["dismiss", "warn", "suspend", "ban", "remove_photo", "remove_prompt"]
    note: str
    days: int | None
    details: dict[str, Any] | None = Field(description='{"photo_id"} or {"prompt_id", "answer"} for removals')
    created_at: str


class AccountView(BaseModel):
    id: str
    email: str
    display_name: str
    birthdate: str
    age: int
    bio: str
    gender: str | None
    role: Literal["user", "moderator"]
    status: Literal["active", "suspended", "banned", "deleted"]
    suspended_until: str | None
    created_at: str
    last_active_at: str


class BlockView(BaseModel):
    blocker_id: str
    created_at: str


class DossierCounts(BaseModel):
    reports_made: int
    reports_received: int
    blocks_received: int
    actions: int


class UserReply(BaseModel):
    user: AccountView
    photos: list[CardPhoto]
    prompts: list[CardPrompt]
    reports_made: list[ReportView] = Field(description="newest first, at most 50 (see counts)")
    reports_received: list[ReportView] = Field(description="newest first, at most 50 (see counts)")
    blocks_received: list[BlockView] = Field(description="newest first, at most 50 (see counts)")
    actions: list[ActionView] = Field(description="moderation actions on this user, newest first, at most 50")
    counts: DossierCounts


class AccountState(BaseModel):
    id: str
    status: Literal["active", "suspended", "banned", "deleted"]
    suspended_until: str | None


class ResolveReply(BaseModel):
    report: ReportView
    resolved_report_ids: list[str] = Field(description="this report and the reporter's older open reports "
                                                       "of the same person, resolved alike")
    action: ActionView
    user: AccountState


class RemoveReply(BaseModel):
    action: ActionView


# -- commands -------------------------------------------------------------------------------------------

@REGISTRY.command("moderation.subscribe", NoInput, role=MODERATOR, reply=SubscribeReply,
                  summary="Snapshot of the open report queue (newest first, with counts and triage signals); "
                          "then live moderation.report and moderation.resolved events on this socket.")
async def subscribe(ctx: CommandContext, data: NoInput) -> dict[str, Any]:
    def start_feed() -> None:
        ctx.deps.hub.join_moderators(ctx.connection)

    async with ctx.transaction() as session:
        return await moderation.subscribe(session, ctx.principal.user_id, start_feed)


@REGISTRY.command("moderation.user", UserIn, role=MODERATOR, reply=UserReply,
                  summary="One account for judging: profile, photos, prompts, reports made and received, "
                          "blocks received and recent moderation actions.")
async def user(ctx: CommandContext, data: UserIn) -> dict[str, Any]:
    async with ctx.transaction() as session:
        return await moderation.dossier(session, ctx.deps.storage, ctx.principal.user_id, data.user_id)


@REGISTRY.command("moderation.resolve", ResolveIn, role=MODERATOR, reply=ResolveReply,
                  summary="Resolve an open report: dismiss, warn, suspend (days) or ban; resolving twice is "
                          "a conflict. Suspend and ban close the user's sockets with 4403 and revoke their logins.")
async def resolve(ctx: CommandContext, data: ResolveIn) -> dict[str, Any]:
    async with ctx.transaction() as session:
        return await moderation.resolve(session, ctx.deps.events, ctx.principal.user_id,
                                        data.report_id, data.action, data.note, data.days)


@REGISTRY.command("moderation.remove_photo", RemovePhotoIn, role=MODERATOR, reply=RemoveReply,
                  summary="Remove one photo of a user (audited).")
async def remove_photo(ctx: CommandContext, data: RemovePhotoIn) -> dict[str, Any]:
    async with ctx.transaction() as session:
        return await moderation.remove_photo(session, ctx.deps.storage, ctx.principal.user_id, data.user_id,
                                             data.photo_id, data.note, data.report_id)


@REGISTRY.command("moderation.remove_prompt", RemovePromptIn, role=MODERATOR, reply=RemoveReply,
                  summary="Remove one prompt answer of a user (audited; the audit keeps the text).")
async def remove_prompt(ctx: CommandContext, data: RemovePromptIn) -> dict[str, Any]:
    async with ctx.transaction() as session:
        return await moderation.remove_prompt(session, ctx.principal.user_id, data.user_id, data.prompt_id,
                                              data.note, data.report_id)
