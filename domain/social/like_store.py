"""Likes: the liker's counters, storing a like (with what it causes) and the likes waiting for an answer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    ScalarSelect,
    Select,
    Text,
    and_,
    bindparam,
    exists,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import DailyLikeCount, Like, Match, User, table
from domain.raw_statements import RawStatement
from domain.social.person_store import Target, target_columns
from domain.social.store_common import ACTOR, NOW, USER, active_pass, blocked_between


@dataclass(frozen=True, slots=True)
class LikeCounts:
    """The liker's counters, read under the liker's row lock."""

    today: int
    ever: int  # capped: only "fewer than five or not" matters
    same_comment: int  # capped likewise
    recent: list[datetime]  # the newest likes inside the velocity window (at most the velocity limit)


# every like's statements run past SQLAlchemy's per-statement path (domain/raw_statements.py)
_likes, _daily = table(Like), table(DailyLikeCount).c
_like = _likes.c
_LIKER = ACTOR


def _count_up_to(cap: str, *where: ColumnElement[bool]) -> ScalarSelect[int]:
    """How many likes match ``where``, counting no further than the bound ``cap`` (only "below it or not" matters)."""
    first: Select[Any] = (select(literal_column("1")).select_from(_likes).where(*where)
                          .limit(bindparam(cap, type_=Integer)))
    return select(func.count()).select_from(first.subquery()).scalar_subquery()


_RECENT = (select(_like.created_at).where(_like.liker_id == _LIKER, _like.created_at > bindparam("since"))
           .order_by(_like.created_at.desc()).limit(bindparam("recent_cap", type_=Integer)).subquery())
# The target (``person_store.target_columns``) and the liker's counters, read once under the liker's row lock
# and the pair's lock, in one round trip: no row when the target does not exist
TARGET_AND_COUNTS = RawStatement.of(target_columns(NOW).add_columns(
    func.coalesce(select(_daily.count).where(_daily.user_id == _LIKER, _daily.day == bindparam("day", type_=Date))
                  .scalar_subquery(), 0),
    _count_up_to("ever_cap", _like.liker_id == _LIKER),
    _count_up_to("same_cap", _like.liker_id == _LIKER, _like.comment_norm == bindparam("norm", type_=Text)),
    select(func.array_agg(aggregate_order_by(_RECENT.c.created_at, _RECENT.c.created_at.desc())))
    .scalar_subquery(),
))


async def target_and_counts(session: AsyncSession, liker_id: uuid.UUID, target_id: uuid.UUID, now: datetime,
                            day: date, norm: str | None, since: datetime, *, ever_cap: int, same_cap: int,
                            recent_cap: int) -> tuple[Target, LikeCounts] | None:
    """The target as the liker relates to it and the liker's counters; None if there is no such user."""
    rows = await TARGET_AND_COUNTS.fetch(session, {
        "actor": liker_id, "target": target_id, "now": now, "day": day, "norm": norm, "since": since,
        "ever_cap": ever_cap, "same_cap": same_cap, "recent_cap": recent_cap})
    if not rows:
        return None
    row = rows[0]
    return Target(*row[:5]), LikeCounts(int(row[5]), int(row[6]), int(row[7]), list(row[8] or ()))


@dataclass(frozen=True, slots=True)
class StoredLike:
    """A like just stored, with what decides what it causes."""

    id: uuid.UUID
    today: int  # the liker's likes today, this one included
    liked_back: bool  # the target liked the liker
    passed_by_target: bool  # the target's pass on the liker is active


STORE_LIKE = RawStatement("""
WITH stored AS (
  INSERT INTO likes (id, liker_id, likee_id, comment, comment_norm, created_at)
  VALUES (:id, :liker, :likee, :comment, :norm, :now)
  ON CONFLICT (liker_id, likee_id) DO NOTHING
  RETURNING id
), today AS (
  INSERT INTO daily_like_counts (user_id, day, count)
  SELECT CAST(:liker AS uuid), CAST(:day AS date), 1 FROM stored
  ON CONFLICT (user_id, day) DO UPDATE SET count = daily_like_counts.count + 1
  RETURNING count
)
SELECT stored.id, today.count,
  EXISTS (SELECT 1 FROM likes WHERE liker_id = :likee AND likee_id = :liker),
  EXISTS (SELECT 1 FROM passes WHERE passer_id = :likee AND passee_id = :liker AND expires_at > :now)
FROM stored, today
""")


async def store_like(session: AsyncSession, liker_id: uuid.UUID, likee_id: uuid.UUID, comment: str | None,
                     comment_norm: str | None, now: datetime, day: date) -> StoredLike | None:
    """Store the like, count it for ``day`` and look at the other direction, in one round trip.

    None if the pair already has a like (the unique key is the last guard; nothing is counted then).
    The reverse like is read in the same statement's snapshot, taken after the pair's lock was granted.
    """
    rows = await STORE_LIKE.fetch(session, {
        "id": uuid.uuid4(), "liker": liker_id, "likee": likee_id, "comment": comment, "norm": comment_norm,
        "now": now, "day": day})
    if not rows:
        return None
    row = rows[0]
    return StoredLike(row[0], int(row[1]), bool(row[2]), bool(row[3]))


@dataclass(frozen=True, slots=True)
class PendingLike:
    id: uuid.UUID
    liker_id: uuid.UUID
    comment: str | None
    created_at: datetime


def _pending_likes() -> Select[Any]:
    """The likes waiting for the user's answer, at the database's clock when the statement starts (one
    statement, no clock read before it)."""
    now = func.statement_timestamp()
    likes, match = table(Like), table(Match).c
    like = likes.c
    liker = table(User).alias("liker")
    mine = likes.alias("mine")
    return (
        select(like.id, like.liker_id, like.comment, like.created_at)
        .join(liker, liker.c.id == like.liker_id)
        .where(
            like.likee_id == USER,
            or_(liker.c.status == "active", and_(liker.c.status == "suspended", liker.c.suspended_until <= now)),
            ~exists().where(match.user_a == func.least(like.liker_id, USER),
                            match.user_b == func.greatest(like.liker_id, USER)),
            ~blocked_between(like.liker_id, USER),
            ~active_pass(USER, like.liker_id, now),
            ~exists().where(mine.c.liker_id == USER, mine.c.likee_id == like.liker_id),
        )
        .order_by(like.created_at.desc(), like.id.desc())
        .limit(bindparam("limit", type_=Integer))
    )


_PENDING_LIKES = RawStatement.of(_pending_likes())  # every likes.pending: past SQLAlchemy's per-statement path


async def pending_likes(session: AsyncSession, user_id: uuid.UUID, limit: int) -> list[PendingLike]:
    """Likes received from active people the user has not matched, blocked either way, passed or liked back."""
    rows = await _PENDING_LIKES.fetch(session, {"user": user_id, "limit": limit})
    return [PendingLike(*row) for row in rows]
