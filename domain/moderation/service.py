"""Moderators' work: the live queue, a user's dossier, resolving reports, removing content.

Every function first re-reads the caller's role from the database: the socket
learnt it at authentication, and a moderator demoted since then must lose the
power at once, not at their next reconnect. Every decision writes an audit row
(``moderation_actions``) in the same transaction as its effects.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import Conflict, NotFound
from domain.events.log import EventLog
from domain.moderation import feed, rules
from domain.moderation import repository as repo
from domain.moderation.access import require_moderator as require_moderator  # re-exported for the commands
from domain.moderation.acting import account_state, apply_outcome
from domain.moderation.view import account_view, action_view, block_view, report_view
from domain.photos import service as photos
from domain.photos.storage import MediaStorage
from domain.safety.auto_reports import told_reason
from domain.transaction import after_commit
from domain.wire.enums import Resolution
from domain.wire.events import ModerationResolved
from domain.wire.moderation import DossierReply, RemoveReply, ResolveReply, SubscribeReply

DOSSIER_LIMIT = 50


async def subscribe(session: AsyncSession, moderator_id: uuid.UUID, start_feed: Callable[[], None]) -> SubscribeReply:
    """Start the caller's live feed, then return the open queue (see ``feed.snapshot``).

    The feed starts before the queue is read, so a report committed in between is
    never missed: it may come both live and in the snapshot (the page keys entries by id).
    """
    await require_moderator(session, moderator_id)
    start_feed()
    return await feed.snapshot(session)


async def dossier(session: AsyncSession, storage: MediaStorage, moderator_id: uuid.UUID,
                  user_id: uuid.UUID) -> DossierReply:
    """Everything a moderator needs to judge one account, newest first, with totals."""
    await require_moderator(session, moderator_id)
    user = await repo.user(session, user_id)
    if user is None:
        raise NotFound("no such user")
    made, made_total = await repo.reports_by(session, user_id, made=True, limit=DOSSIER_LIMIT)
    received, received_total = await repo.reports_by(session, user_id, made=False, limit=DOSSIER_LIMIT)
    blocks, blocks_total = await repo.blocks_received(session, user_id, DOSSIER_LIMIT)
    actions, actions_total = await repo.actions_on(session, user_id, DOSSIER_LIMIT)
    prompts = await repo.prompt_answers(session, user_id)
    return {
        "user": account_view(user),
        "photos": await photos.list_photos(session, storage, user_id),
        "prompts": [{"prompt_id": p, "text": t, "answer": a} for p, t, a in prompts],
        "reports_made": [report_view(r) for r in made],
        "reports_received": [report_view(r) for r in received],
        "blocks_received": [block_view(b) for b in blocks],
        "actions": [action_view(a) for a in actions],
        "counts": {"reports_made": made_total, "reports_received": received_total,
                   "blocks_received": blocks_total, "actions": actions_total},
    }


async def resolve(session: AsyncSession, events: EventLog, moderator_id: uuid.UUID, report_id: uuid.UUID,
                  action: Resolution, note: str, days: int | None) -> ResolveReply:
    """Resolve a report (and the reporter's other open reports of the same person) and apply the action."""
    await require_moderator(session, moderator_id)
    note = rules.check_note(note)
    rules.check_days(action, days)  # the annotation is not enforced at run time: the action is checked here
    pair = await repo.report_pair(session, report_id)
    if pair is None:
        raise NotFound("no such report")
    reporter_id, reported_id = pair
    rules.check_target(moderator_id, reported_id)
    group = await repo.lock_pair_reports(session, report_id, reporter_id, reported_id)
    report = next(r for r in group if r.id == report_id)
    if report.status != "open":
        raise Conflict("this report was already resolved",
                       {"resolution": report.resolution,
                        "resolved_by": str(report.resolved_by) if report.resolved_by else None})
    user = await repo.lock_user(session, reported_id)
    assert user is not None  # reports reference users with ON DELETE CASCADE
    now = datetime.now(UTC)
    status = rules.current_status(user.status, user.suspended_until, now)
    outcome = rules.outcome(action, status, user.suspended_until, now, days)
    resolved_ids = [r.id for r in group if r.status == "open"]
    await repo.resolve_reports(session, resolved_ids, moderator_id, action, note)
    await apply_outcome(session, events, user.id, outcome, told_reason(report.reason))
    audit = await repo.insert_action(session, moderator_id=moderator_id, target_user_id=reported_id,
                                     action=action, note=note, report_id=report_id, days=days)
    _announce_resolved(session, events, resolved_ids, action, moderator_id)
    await session.refresh(report)
    return {
        "report": report_view(report),
        "resolved_report_ids": [str(i) for i in resolved_ids],
        "action": action_view(audit),
        "user": account_state(user.id, outcome),
    }


def _announce_resolved(session: AsyncSession, events: EventLog, report_ids: list[uuid.UUID], action: Resolution,
                       moderator_id: uuid.UUID) -> None:
    """After commit, tell every moderator's feed (every node) which reports left the queue."""

    async def announce() -> None:
        for report_id in report_ids:
            resolved: ModerationResolved = {"report_id": str(report_id), "action": action,
                                            "moderator_id": str(moderator_id)}
            await events.to_moderators("moderation.resolved", resolved)

    after_commit(session, announce)


async def _check_removal(session: AsyncSession, moderator_id: uuid.UUID, user_id: uuid.UUID, note: str,
                         report_id: uuid.UUID | None) -> str:
    await require_moderator(session, moderator_id)
    note = rules.check_note(note)
    rules.check_target(moderator_id, user_id)
    if report_id is not None and not await repo.report_is_about(session, report_id, user_id):
        raise NotFound("no such report about this user")
    return note


async def remove_photo(session: AsyncSession, storage: MediaStorage, moderator_id: uuid.UUID, user_id: uuid.UUID,
                       photo_id: uuid.UUID, note: str, report_id: uuid.UUID | None) -> RemoveReply:
    """Delete one photo of ``user_id`` (its files go after commit) and audit it."""
    note = await _check_removal(session, moderator_id, user_id, note, report_id)
    await photos.delete_photo(session, storage, user_id, photo_id)
    audit = await repo.insert_action(session, moderator_id=moderator_id, target_user_id=user_id,
                                     action="remove_photo", note=note, report_id=report_id,
                                     details={"photo_id": str(photo_id)})
    return {"action": action_view(audit)}


async def remove_prompt(session: AsyncSession, moderator_id: uuid.UUID, user_id: uuid.UUID, prompt_id: str,
                        note: str, report_id: uuid.UUID | None) -> RemoveReply:
    """Delete one prompt answer of ``user_id``; the audit row keeps the removed text as evidence."""
    note = await _check_removal(session, moderator_id, user_id, note, report_id)
    answer = await repo.delete_prompt_answer(session, user_id, prompt_id)
    if answer is None:
        raise NotFound("this user has no answer to that prompt")
    audit = await repo.insert_action(session, moderator_id=moderator_id, target_user_id=user_id,
                                     action="remove_prompt", note=note, report_id=report_id,
                                     details={"prompt_id": prompt_id, "answer": answer})
    return {"action": action_view(audit)}
