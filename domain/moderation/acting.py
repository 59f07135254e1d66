"""Decisions about an account and their effects: shared by report resolutions and ``moderation.act``.

``apply_outcome`` carries out what ``rules.outcome`` decided (status, revoked logins, the user's durable
event, the 4403 close on every node); ``act`` is a moderator's decision without a report (warn, suspend,
ban, or reinstate, which lifts a suspension or ban). Both write their audit row in the same transaction.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from domain.auth import repository as auth_repo
from domain.discovery.signals import profile_changed
from domain.errors import NotFound
from domain.events.log import EventLog
from domain.models.moderation import ACTS
from domain.moderation import repository as repo
from domain.moderation import rules
from domain.moderation.access import require_moderator
from domain.moderation.view import action_view
from domain.wire.enums import ModerationAct, ReportReason
from domain.wire.events import AccountSuspendedNotice, ModerationWarning
from domain.wire.moderation import AccountState, ActReply
from domain.wire.scalars import rfc3339, rfc3339_or_none

CLOSE_SUSPENDED = 4403  # CONTRACT: a suspended or banned user's sockets close with 4403 (realtime/closecodes.py)


async def apply_outcome(session: AsyncSession, events: EventLog, user_id: uuid.UUID, outcome: rules.Outcome,
                        reason: ReportReason) -> None:
    """Carry out ``outcome`` on the (locked) account; ``reason`` is the category the user is told.

    Lock-out (suspend, ban): the status changes, every login is revoked, ``account.suspended`` is stored,
    and a close control message queued behind it closes every socket of the user, on every node, with 4403.
    """
    if outcome.lock_out:
        await repo.set_status(session, user_id, outcome.status, outcome.suspended_until)
        await auth_repo.revoke_all_families(session, user_id, outcome.status)
    if outcome.notify == rules.WARNING_EVENT:
        warning: ModerationWarning = {"reason": reason}
        await events.append(session, user_id, rules.WARNING_EVENT, warning)
    elif outcome.notify == rules.SUSPENDED_EVENT:
        data: AccountSuspendedNotice = {"reason": reason}
        if outcome.suspended_until is not None:
            data["until"] = rfc3339(outcome.suspended_until)
        await events.append(session, user_id, rules.SUSPENDED_EVENT, data)
    if outcome.lock_out:  # queued behind the event above on the user's channel: it arrives first
        events.control_after_commit(session, user_id, "close", code=CLOSE_SUSPENDED,
                                    reason=f"account {outcome.status}")


def account_state(user_id: uuid.UUID, outcome: rules.Outcome) -> AccountState:
    """The account after a decision, as the reply shows it."""
    until = outcome.suspended_until if outcome.status == "suspended" else None
    return {"id": str(user_id), "status": outcome.status, "suspended_until": rfc3339_or_none(until)}


async def act(session: AsyncSession, events: EventLog, moderator_id: uuid.UUID, user_id: uuid.UUID,
              action: ModerationAct, note: str, days: int | None, reason: ReportReason | None) -> ActReply:
    """A decision about ``user_id`` without a report: the effects of a resolution, audited alike.

    ``reinstate`` lifts a suspension or a ban (``conflict`` when there is none); the user logs in again
    (their old logins stay revoked) and becomes discoverable at once. Open reports about the user stay
    in the queue: resolving them is a separate decision.
    """
    await require_moderator(session, moderator_id)
    note = rules.check_note(note)
    rules.check_days(action, days, ACTS)
    told = rules.check_act_reason(action, reason)
    rules.check_target(moderator_id, user_id)
    user = await repo.lock_user(session, user_id)
    if user is None:
        raise NotFound("no such user")
    now = datetime.now(UTC)
    status = rules.current_status(user.status, user.suspended_until, now)
    if action == "reinstate":
        outcome = rules.lift(status)
        await repo.set_status(session, user.id, outcome.status, outcome.suspended_until)
        profile_changed(session, events, user.id)
        details = None
    else:
        outcome = rules.outcome(action, status, user.suspended_until, now, days)
        await apply_outcome(session, events, user.id, outcome, told)
        details = {"reason": told}
    audit = await repo.insert_action(session, moderator_id=moderator_id, target_user_id=user.id, action=action,
                                     note=note, days=days, details=details)
    return {"action": action_view(audit), "user": account_state(user.id, outcome)}
