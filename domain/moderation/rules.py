"""Moderation rules without I/O: checking a decision's input, whom it may touch, and what it changes.

A decision on a report is one of ``RESOLUTIONS``; its effect on the reported
account depends only on the action and the account's current status:

    action    active / suspended                     banned                deleted
    dismiss   nothing                                nothing               nothing
    warn      durable moderation.warning             conflict              conflict
    suspend   suspended until max(now+days, until),  conflict              conflict
              account.suspended, close 4403
    ban       banned, account.suspended, close 4403  nothing (already)     conflict

``moderation.act`` applies the same table without a report (dismiss excepted) and adds ``reinstate``
(``lift``): suspended or banned → active; any other status → conflict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.errors import Conflict, Forbidden, ValidationFailed
from domain.models.moderation import MAX_NOTE_CHARS, MAX_SUSPENSION_DAYS, RESOLUTIONS
from domain.wire.enums import AccountStatus, ReportReason

WARNING_EVENT = "moderation.warning"
SUSPENDED_EVENT = "account.suspended"


@dataclass(frozen=True)
class Outcome:
    """What a decision does to the reported account."""

    status: AccountStatus            # the account's status afterwards
    suspended_until: datetime | None
    notify: str | None               # the durable event the user gets, if any
    lock_out: bool                   # revoke every login and close every socket with 4403


def check_note(note: str) -> str:
    """The note, trimmed; it must say something (1 to ``MAX_NOTE_CHARS`` characters)."""
    text = note.strip()
    if not text:
        raise ValidationFailed.field("note", "must not be empty: say why, for the audit log")
    if len(text) > MAX_NOTE_CHARS:
        raise ValidationFailed.field("note", f"must be at most {MAX_NOTE_CHARS} characters")
    return text


def check_days(action: str, days: int | None, actions: tuple[str, ...] = RESOLUTIONS) -> None:
    """``action`` is one of ``actions``; ``days`` is required for a suspension (1 to ``MAX_SUSPENSION_DAYS``)
    and refused for anything else."""
    if action not in actions:
        raise ValidationFailed.field("action", f"must be one of {', '.join(actions)}")
    if action == "suspend":
        if days is None:
            raise ValidationFailed.field("days", "is required to suspend")
        if not 1 <= days <= MAX_SUSPENSION_DAYS:
            raise ValidationFailed.field("days", f"must be 1 to {MAX_SUSPENSION_DAYS}")
    elif days is not None:
        raise ValidationFailed.field("days", "is only allowed with suspend")


def check_act_reason(action: str, reason: ReportReason | None) -> ReportReason:
    """The category the user is told about a decision without a report (``other`` unless given);
    ``reinstate`` tells the user nothing, so it takes none."""
    if action == "reinstate":
        if reason is not None:
            raise ValidationFailed.field("reason", "is not used by reinstate")
        return "other"
    return reason or "other"


def current_status(status: AccountStatus, suspended_until: datetime | None, now: datetime) -> AccountStatus:
    """The account's status with a suspension whose time is over counted as active."""
    if status == "suspended" and suspended_until is not None and suspended_until <= now:
        return "active"
    return status


def check_target(moderator_id: object, target_id: object) -> None:
    """A moderator never decides about their own account (nor a report about it)."""
    if moderator_id == target_id:
        raise Forbidden("moderators cannot act on their own account; ask another moderator")


def lift(status: AccountStatus) -> Outcome:
    """``reinstate``: a suspended or banned account becomes active; anything else has nothing to lift."""
    if status not in ("suspended", "banned"):
        raise Conflict(f"this account is {status}: there is no suspension or ban to lift")
    return Outcome("active", None, None, lock_out=False)


def outcome(action: str, status: AccountStatus, suspended_until: datetime | None, now: datetime,
            days: int | None) -> Outcome:
    """The effect of ``action`` on an account whose current status is ``status`` (see the module table)."""
    if action == "dismiss":
        return Outcome(status, suspended_until, None, lock_out=False)
    if status == "deleted":
        raise Conflict("this account was deleted; the report can only be dismissed")
    if action == "ban":
        if status == "banned":
            return Outcome("banned", None, None, lock_out=False)
        return Outcome("banned", None, SUSPENDED_EVENT, lock_out=True)
    if status == "banned":
        raise Conflict(f"this account is already banned; {action} would weaken that (dismiss or ban)")
    if action == "warn":
        return Outcome(status, suspended_until, WARNING_EVENT, lock_out=False)
    if action == "suspend":
        assert days is not None  # check_days ran first
        until = now + timedelta(days=days)
        if status == "suspended" and suspended_until is not None and suspended_until > until:
            until = suspended_until  # a shorter suspension never cuts a longer one short
        return Outcome("suspended", until, SUSPENDED_EVENT, lock_out=True)
    raise ValidationFailed.field("action", f"must be one of {', '.join(RESOLUTIONS)}")
