"""How moderation data looks on the wire (pure): reports, audit rows, the account as moderators see it."""

from __future__ import annotations

from datetime import UTC, date, datetime

from domain.models import Block, ModerationAction, Report, User
from domain.moderation.rules import current_status
from domain.profiles.age import age_on
from domain.wire.moderation import AccountView, ActionView, BlockView, ReportView
from domain.wire.scalars import rfc3339, rfc3339_or_none


def report_view(report: Report) -> ReportView:
    """A report with its resolution: the live feed's fields first, then status and outcome."""
    return {
        "id": str(report.id),
        "reporter_id": str(report.reporter_id) if report.reporter_id else None,
        "reported_id": str(report.reported_id),
        "reason": report.reason,
        "details": report.details,
        "created_at": rfc3339(report.created_at),
        "status": report.status,
        "resolution": report.resolution,
        "resolution_note": report.resolution_note,
        "resolved_by": str(report.resolved_by) if report.resolved_by else None,
        "resolved_at": rfc3339_or_none(report.resolved_at),
    }


def action_view(action: ModerationAction) -> ActionView:
    """One audit row: who did what to whom, when, why, and for which report."""
    return {
        "id": str(action.id),
        "moderator_id": str(action.moderator_id) if action.moderator_id else None,
        "target_user_id": str(action.target_user_id),
        "report_id": str(action.report_id) if action.report_id else None,
        "action": action.action,
        "note": action.note,
        "days": action.days,
        "details": action.details,
        "created_at": rfc3339(action.created_at),
    }


def block_view(block: Block) -> BlockView:
    return {"blocker_id": str(block.blocker_id), "created_at": rfc3339(block.created_at)}


def account_view(user: User, now: datetime | None = None) -> AccountView:
    """The account as a moderator sees it: contact and age for triage, never the exact location."""
    now = now or datetime.now(UTC)
    today: date = now.date()
    status = current_status(user.status, user.suspended_until, now)
    return {
        "id": str(user.id),
        "email": user.email,
        "display_name": user.display_name,
        "birthdate": user.birthdate.isoformat(),
        "age": age_on(user.birthdate, today),
        "bio": user.bio,
        "gender": user.gender,
        "email_verified": user.email_verified,
        "role": user.role,
        "status": status,
        "suspended_until": rfc3339_or_none(user.suspended_until) if status == "suspended" else None,
        "created_at": rfc3339(user.created_at),
        "last_active_at": rfc3339(user.last_active_at),
    }
