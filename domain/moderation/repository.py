"""SQL for moderation: the open queue with its triage signals, report resolution, audit rows, dossiers."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import Block, ModerationAction, Prompt, PromptAnswer, Report, User
from domain.wire.enums import AccountStatus, Role

# One queue entry per (reporter, reported) pair: the newest open report of the pair stands for it.
# Signals are counted per distinct pair too, so reporting someone twice weighs as much as once.
_QUEUE_SQL = """
WITH queue AS (
    SELECT DISTINCT ON (r.reporter_id, r.reported_id)
           r.id, r.reporter_id, r.reported_id, r.reason, r.details, r.created_at
    FROM reports r
    WHERE r.status = 'open' {only}
    ORDER BY r.reporter_id, r.reported_id, r.created_at DESC, r.id DESC
), page AS (
    SELECT * FROM queue ORDER BY created_at DESC, id DESC LIMIT :limit
)
SELECT p.id, p.reporter_id, p.reported_id, p.reason, p.details, p.created_at,
       t.display_name AS reported_name, t.status AS reported_status,
       t.suspended_until AS reported_until,
       rep.created_at AS reporter_created_at,
       (SELECT count(DISTINCT x.reporter_id) FROM reports x
         WHERE x.reported_id = p.reported_id AND x.created_at > now() - interval '7 days') AS distinct_reporters_7d,
       (SELECT count(DISTINCT x.reported_id) FROM reports x
         WHERE x.reporter_id = p.reporter_id) AS reporter_reports_made,
       (SELECT count(DISTINCT x.reported_id) FROM reports x
         WHERE x.reporter_id = p.reporter_id AND x.resolution = 'dismiss') AS reporter_reports_dismissed
FROM page p
JOIN users t ON t.id = p.reported_id
LEFT JOIN users rep ON rep.id = p.reporter_id  -- no reporter: an automatic report
ORDER BY p.created_at DESC, p.id DESC
"""

_COUNTS_SQL = """
SELECT count(*) AS open, count(DISTINCT reported_id) AS reported_users
FROM (SELECT DISTINCT reporter_id, reported_id FROM reports WHERE status = 'open') pairs
"""


async def account(session: AsyncSession, user_id: uuid.UUID) -> tuple[Role, AccountStatus, datetime | None] | None:
    """``(role, status, suspended_until)`` of a user, or None."""
    stmt = select(User.role, User.status, User.suspended_until).where(User.id == user_id)
    row = (await session.execute(stmt)).one_or_none()
    return (row[0], row[1], row[2]) if row is not None else None


# -- the queue -----------------------------------------------------------------------------------

async def queue(session: AsyncSession, limit: int, report_id: uuid.UUID | None = None) -> Sequence[Any]:
    """Open queue entries, newest first, with their signals (only ``report_id``'s entry when given)."""
    only = "AND r.id = :report_id" if report_id is not None else ""
    params: dict[str, Any] = {"limit": limit}
    if report_id is not None:
        params["report_id"] = report_id
    return (await session.execute(text(_QUEUE_SQL.format(only=only)), params)).all()


async def queue_counts(session: AsyncSession) -> tuple[int, int]:
    """``(open entries, distinct reported users)`` of the whole open queue."""
    row = (await session.execute(text(_COUNTS_SQL))).one()
    return int(row.open), int(row.reported_users)


# -- resolving -----------------------------------------------------------------------------------

async def report_pair(session: AsyncSession, report_id: uuid.UUID) -> tuple[uuid.UUID | None, uuid.UUID] | None:
    """``(reporter_id, reported_id)`` of a report (reporter None: an automatic report), or None."""
    stmt = select(Report.reporter_id, Report.reported_id).where(Report.id == report_id)
    row = (await session.execute(stmt)).one_or_none()
    return (row[0], row[1]) if row is not None else None


async def lock_pair_reports(session: AsyncSession, report_id: uuid.UUID, reporter_id: uuid.UUID | None,
                            reported_id: uuid.UUID) -> list[Report]:
    """Lock ``report_id`` and every open report of the same pair, in id order (so two resolvers never deadlock).

    The automatic reports about a person (no reporter) form one pair, as they form one queue entry.
    """
    stmt = (
        select(Report)
        .where(Report.reporter_id.is_not_distinct_from(reporter_id), Report.reported_id == reported_id,
               (Report.status == "open") | (Report.id == report_id))
        .order_by(Report.id)
        .with_for_update()
    )
    return list((await session.execute(stmt)).scalars())


async def resolve_reports(session: AsyncSession, report_ids: Sequence[uuid.UUID], moderator_id: uuid.UUID,
                          action: str, note: str) -> None:
    """Mark the (locked, open) reports resolved with ``action``."""
    await session.execute(
        update(Report)
        .where(Report.id.in_(report_ids), Report.status == "open")
        .values(status="resolved", resolved_by=moderator_id, resolved_at=func.now(), resolution=action,
                resolution_note=note)
        .execution_options(synchronize_session=False)
    )


async def lock_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    """The user row, locked against concurrent status changes (FOR NO KEY UPDATE: inserts referencing it go on)."""
    stmt = select(User).where(User.id == user_id).with_for_update(key_share=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def set_status(session: AsyncSession, user_id: uuid.UUID, status: str, until: datetime | None) -> None:
    await session.execute(update(User).where(User.id == user_id).values(status=status, suspended_until=until))


async def insert_action(session: AsyncSession, *, moderator_id: uuid.UUID, target_user_id: uuid.UUID,
                        action: str, note: str, report_id: uuid.UUID | None = None,
                        days: int | None = None, details: dict[str, Any] | None = None) -> ModerationAction:
    """Write one audit row and return it (with its time)."""
    stmt = (
        insert(ModerationAction)
        .values(id=uuid.uuid4(), moderator_id=moderator_id, target_user_id=target_user_id, report_id=report_id,
                action=action, note=note, days=days, details=details)
        .returning(ModerationAction)
    )
    return (await session.execute(stmt)).scalar_one()


async def report_is_about(session: AsyncSession, report_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    stmt = select(Report.id).where(Report.id == report_id, Report.reported_id == user_id)
    return (await session.execute(stmt)).scalar_one_or_none() is not None


async def delete_prompt_answer(session: AsyncSession, user_id: uuid.UUID, prompt_id: str) -> str | None:
    """Delete one prompt answer and return its text; None when the user has no answer to that prompt."""
    stmt = (delete(PromptAnswer).where(PromptAnswer.user_id == user_id, PromptAnswer.prompt_id == prompt_id)
            .returning(PromptAnswer.answer))
    return (await session.execute(stmt)).scalar_one_or_none()


# -- a user's dossier ------------------------------------------------------------------------------

async def user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return (await session.execute(select(User).where(User.id == user_id))).scalar_one_or_none()


async def prompt_answers(session: AsyncSession, user_id: uuid.UUID) -> list[tuple[str, str, str]]:
    """``(prompt_id, prompt text, answer)`` in catalogue order."""
    stmt = (select(PromptAnswer.prompt_id, Prompt.text, PromptAnswer.answer)
            .join(Prompt, Prompt.id == PromptAnswer.prompt_id)
            .where(PromptAnswer.user_id == user_id).order_by(Prompt.position))
    return [(r[0], r[1], r[2]) for r in await session.execute(stmt)]


async def reports_by(session: AsyncSession, user_id: uuid.UUID, *, made: bool, limit: int) -> tuple[list[Report], int]:
    """The newest reports the user made (or received), and how many there are in all."""
    column = Report.reporter_id if made else Report.reported_id
    rows = await session.execute(select(Report).where(column == user_id)
                                 .order_by(Report.created_at.desc(), Report.id.desc()).limit(limit))
    total = await session.execute(select(func.count()).select_from(Report).where(column == user_id))
    return list(rows.scalars()), int(total.scalar_one())


async def blocks_received(session: AsyncSession, user_id: uuid.UUID, limit: int) -> tuple[list[Block], int]:
    """The newest blocks of the user by others, and how many there are in all."""
    rows = await session.execute(select(Block).where(Block.blocked_id == user_id)
                                 .order_by(Block.created_at.desc(), Block.blocker_id).limit(limit))
    total = await session.execute(select(func.count()).select_from(Block).where(Block.blocked_id == user_id))
    return list(rows.scalars()), int(total.scalar_one())


async def actions_on(session: AsyncSession, user_id: uuid.UUID, limit: int) -> tuple[list[ModerationAction], int]:
    """The newest moderation actions taken on the user, and how many there are in all."""
    rows = await session.execute(select(ModerationAction).where(ModerationAction.target_user_id == user_id)
                                 .order_by(ModerationAction.created_at.desc(), ModerationAction.id.desc())
                                 .limit(limit))
    total = await session.execute(select(func.count()).select_from(ModerationAction)
                                  .where(ModerationAction.target_user_id == user_id))
    return list(rows.scalars()), int(total.scalar_one())
