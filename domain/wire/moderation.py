"""What moderators see: reports, the open queue with its triage signals, the dossier and the audit rows."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, with_config
from typing_extensions import TypedDict

from domain.wire.enums import AccountStatus, ActionKind, Resolution, Role, StoredReportReason
from domain.wire.objects import Account, Photo, PromptAnswer
from domain.wire.scalars import CLOSED, Timestamp, Uuid


@with_config(CLOSED)
class Report(TypedDict):
    """The fields every view of a report starts with."""

    id: Uuid
    reporter_id: Annotated[Uuid | None, Field(description="null for an automatic report (reason auto_flag, filed by "
                                                          "the content filter or contact shielding)")]
    reported_id: Uuid
    reason: StoredReportReason
    details: str | None
    created_at: Timestamp


@with_config(CLOSED)
class ReportedUser(TypedDict):
    display_name: str
    status: AccountStatus
    suspended_until: Timestamp | None


@with_config(CLOSED)
class Signals(TypedDict):
    """Triage signals of a queue entry (docs/moderation.md)."""

    distinct_reporters_7d: Annotated[int, Field(description="distinct people who reported this user in the "
                                                            "last 7 days (automatic reports count no one)")]
    reporter_account_age_days: Annotated[int | None, Field(description="null for an automatic report")]
    reporter_reports_made: Annotated[int | None, Field(description="distinct people the reporter has reported; "
                                                                   "null for an automatic report")]
    reporter_reports_dismissed: Annotated[int | None, Field(description="of those, how many the moderators "
                                                                        "dismissed; null for an automatic report")]


@with_config(CLOSED)
class QueueEntry(Report):
    """An open report in the moderators' queue, with the reported user and the triage signals."""

    status: Literal["open"]
    reported: ReportedUser
    signals: Signals


@with_config(CLOSED)
class QueueCounts(TypedDict):
    open: Annotated[int, Field(description="open queue entries (one per reporter and reported user)")]
    reported_users: int


@with_config(CLOSED)
class ReportView(Report):
    """A report with its outcome, as the dossier and ``moderation.resolve`` show it."""

    status: Literal["open", "resolved"]
    resolution: Resolution | None
    resolution_note: str | None
    resolved_by: Uuid | None
    resolved_at: Timestamp | None


@with_config(CLOSED)
class ActionView(TypedDict):
    """One audit row: who did what to whom, when, why, and for which report."""

    id: Uuid
    moderator_id: Uuid | None
    target_user_id: Uuid
    report_id: Uuid | None
    action: ActionKind
    note: str
    days: int | None
    details: Annotated[dict[str, Any] | None, Field(description='{"photo_id"} or {"prompt_id", "answer"} for '
                                                                'removals; {"reason"} for moderation.act')]
    created_at: Timestamp


@with_config(CLOSED)
class AccountView(Account):
    """The account as a moderator sees it: contact and age for triage, never the exact location."""

    role: Role
    status: AccountStatus
    suspended_until: Timestamp | None
    created_at: Timestamp
    last_active_at: Timestamp


@with_config(CLOSED)
class BlockView(TypedDict):
    blocker_id: Uuid
    created_at: Timestamp


@with_config(CLOSED)
class DossierCounts(TypedDict):
    reports_made: int
    reports_received: int
    blocks_received: int
    actions: int


@with_config(CLOSED)
class AccountState(TypedDict):
    id: Uuid
    status: AccountStatus
    suspended_until: Timestamp | None


@with_config(CLOSED)
class SubscribeReply(TypedDict):
    reports: Annotated[list[QueueEntry], Field(description="newest first, at most 500")]
    counts: QueueCounts


@with_config(CLOSED)
class DossierReply(TypedDict):
    """``moderation.user``: one account for judging."""

    user: AccountView
    photos: list[Photo]
    prompts: list[PromptAnswer]
    reports_made: Annotated[list[ReportView], Field(description="newest first, at most 50 (see counts)")]
    reports_received: Annotated[list[ReportView], Field(description="newest first, at most 50 (see counts)")]
    blocks_received: Annotated[list[BlockView], Field(description="newest first, at most 50 (see counts)")]
    actions: Annotated[list[ActionView], Field(description="moderation actions on this user, newest first, "
                                                           "at most 50")]
    counts: DossierCounts


@with_config(CLOSED)
class ResolveReply(TypedDict):
    report: ReportView
    resolved_report_ids: Annotated[list[Uuid], Field(description="this report and the reporter's older open "
                                                                 "reports of the same person, resolved alike")]
    action: ActionView
    user: AccountState


@with_config(CLOSED)
class RemoveReply(TypedDict):
    action: ActionView


# -- moderation.search, moderation.act, moderation.stats (issue 16 parts 4 and 5) --------------------------------

@with_config(CLOSED)
class FoundUser(TypedDict):
    """One account found by ``moderation.search``; ``moderation.user`` gives its dossier."""

    id: Uuid
    email: str
    display_name: str
    status: Annotated[AccountStatus, Field(description="right now: a suspension whose time is over is active")]
    role: Role
    created_at: Timestamp
    reports_received: Annotated[int, Field(description="every report ever made about this user, open or resolved")]


@with_config(CLOSED)
class SearchReply(TypedDict):
    users: Annotated[list[FoundUser], Field(description="the exact id; or email-prefix matches (by email) then "
                                                        "display-name-prefix matches (by name); at most 20")]


@with_config(CLOSED)
class ActReply(TypedDict):
    """``moderation.act``: the audit row it wrote and the account afterwards."""

    action: ActionView
    user: AccountState


@with_config(CLOSED)
class StatsReply(TypedDict):
    """``moderation.stats``: the live panel. "Today" starts at 00:00 UTC (docs/moderation.md)."""

    online_users: Annotated[int | None, Field(description="people with a live socket on any node; null while "
                                                          "presence (Redis) is unavailable")]
    signups_today: Annotated[int, Field(description="accounts created since 00:00 UTC")]
    matches_today: Annotated[int, Field(description="matches made since 00:00 UTC, whatever their state now")]
    messages_today: Annotated[int, Field(description="messages sent since 00:00 UTC")]
    open_reports: Annotated[int, Field(description="open queue entries (one per reporter and reported user), as "
                                                   "moderation.subscribe's counts.open")]
    photos_pending: Annotated[int, Field(description="photos waiting for review")]
    median_resolution_s_7d: Annotated[float | None, Field(description="median seconds from a report to its "
                                                                      "resolution, over reports resolved in the "
                                                                      "last 7 days; null when none")]
