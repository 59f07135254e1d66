"""SQL of the personal-data export: the caller's rows, one query per kind, plus the hourly limit.

Only rows that are the caller's or about the caller are read, and only their columns that the export shows
(``domain/wire/export.py``); other people are reduced to ids here and to cards by ``domain/cards.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import extract, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import (
    Block,
    DailyLikeCount,
    Like,
    Match,
    MatchRead,
    Message,
    ModerationAction,
    Pass,
    Report,
    TokenFamily,
    User,
    UserEvent,
    UserTrait,
)

Rows = Sequence[Any]  # rows of named columns


async def claim_export(session: AsyncSession, user_id: uuid.UUID, every: timedelta) -> float:
    """Stamp ``last_export_at`` if the last export is at least ``every`` ago: 0.0; else the seconds to wait.

    One statement under the row lock, so two concurrent exports cannot both pass. The stamp is part of the
    caller's transaction: an export that fails is not counted.
    """
    claimed = await session.execute(
        update(User).where(User.id == user_id,
                           or_(User.last_export_at.is_(None), User.last_export_at <= func.now() - every))
        .values(last_export_at=func.now()).returning(User.id))
    if claimed.first() is not None:
        return 0.0
    wait = (await session.execute(select(extract("epoch", User.last_export_at + every - func.now()))
                                  .where(User.id == user_id))).scalar_one_or_none()
    return max(1.0, float(wait or 1.0))


async def traits_of(session: AsyncSession, user_id: uuid.UUID) -> list[float] | None:
    row = (await session.execute(select(UserTrait.traits).where(UserTrait.user_id == user_id))).first()
    return [float(x) for x in row[0]] if row is not None else None


async def likes(session: AsyncSession, user_id: uuid.UUID, *, sent: bool) -> Rows:
    """Likes the user sent (``other`` = the liked) or received (``other`` = the liker), oldest first."""
    mine, other = (Like.liker_id, Like.likee_id) if sent else (Like.likee_id, Like.liker_id)
    return (await session.execute(select(Like.id, other.label("other"), Like.comment, Like.created_at)
                                  .where(mine == user_id).order_by(Like.created_at, Like.id))).all()


async def passes(session: AsyncSession, user_id: uuid.UUID) -> Rows:
    return (await session.execute(select(Pass.passee_id, Pass.created_at, Pass.expires_at)
                                  .where(Pass.passer_id == user_id).order_by(Pass.created_at))).all()


async def matches(session: AsyncSession, user_id: uuid.UUID) -> Sequence[Match]:
    return (await session.execute(select(Match).where(or_(Match.user_a == user_id, Match.user_b == user_id))
                                  .order_by(Match.matched_at, Match.id))).scalars().all()


async def messages(session: AsyncSession, match_ids: Sequence[uuid.UUID]) -> Rows:
    """Every message of the matches, oldest first."""
    if not match_ids:
        return []
    return (await session.execute(
        select(Message.id, Message.match_id, Message.sender_id, Message.body, Message.client_msg_id,
               Message.created_at, Message.safety)
        .where(Message.match_id.in_(match_ids)).order_by(Message.created_at, Message.id))).all()


async def read_positions(session: AsyncSession, user_id: uuid.UUID) -> dict[uuid.UUID, uuid.UUID]:
    rows = await session.execute(select(MatchRead.match_id, MatchRead.up_to_message_id)
                                 .where(MatchRead.user_id == user_id))
    return {match_id: up_to for match_id, up_to in rows.all()}


async def blocks(session: AsyncSession, user_id: uuid.UUID) -> Rows:
    return (await session.execute(select(Block.blocked_id, Block.created_at)
                                  .where(Block.blocker_id == user_id).order_by(Block.created_at))).all()


async def reports(session: AsyncSession, user_id: uuid.UUID) -> Rows:
    """Reports the user made (never their outcome for the reported person)."""
    return (await session.execute(
        select(Report.id, Report.reported_id, Report.reason, Report.details, Report.created_at, Report.status)
        .where(Report.reporter_id == user_id).order_by(Report.created_at, Report.id))).all()


async def events(session: AsyncSession, user_id: uuid.UUID) -> Rows:
    return (await session.execute(
        select(UserEvent.seq, UserEvent.type, UserEvent.payload, UserEvent.created_at)
        .where(UserEvent.user_id == user_id).order_by(UserEvent.seq))).all()


async def moderation_actions(session: AsyncSession, user_id: uuid.UUID) -> Rows:
    """Decisions about the user, without the note, the moderator or the report (someone else's)."""
    return (await session.execute(
        select(ModerationAction.id, ModerationAction.action, ModerationAction.days, ModerationAction.details,
               ModerationAction.created_at)
        .where(ModerationAction.target_user_id == user_id)
        .order_by(ModerationAction.created_at, ModerationAction.id))).all()


async def logins(session: AsyncSession, user_id: uuid.UUID) -> Rows:
    return (await session.execute(
        select(TokenFamily.created_at, TokenFamily.revoked_at, TokenFamily.revoked_reason)
        .where(TokenFamily.user_id == user_id).order_by(TokenFamily.created_at))).all()


async def daily_likes(session: AsyncSession, user_id: uuid.UUID) -> Rows:
    return (await session.execute(select(DailyLikeCount.day, DailyLikeCount.count)
                                  .where(DailyLikeCount.user_id == user_id).order_by(DailyLikeCount.day))).all()
