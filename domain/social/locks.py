"""The social area's locks: the acting user's row, the target user's and the pair's advisory locks.

Lock order, the same everywhere so that nothing can deadlock: the acting user's row
(``FOR NO KEY UPDATE``), then the target user's advisory lock (shared for likes, exclusive
for an account deletion), then the pair's advisory lock, then match rows; durable
events are appended last, in ascending user id order (see ``domain.social.notify``).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import BigInteger, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import User, table
from domain.raw_statements import RawStatement
from domain.social.store_common import USER


def _lock_key(namespace: bytes, *ids: uuid.UUID) -> int:
    """A signed 64-bit advisory lock key for ``ids`` (hash collisions only ever serialise more)."""
    digest = hashlib.blake2b(namespace + b"".join(i.bytes for i in ids), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def user_lock_key(user_id: uuid.UUID) -> int:
    """Held shared by likes aimed at the user, exclusive by the user's account deletion."""
    return _lock_key(b"social.user:", user_id)


def pair_lock_key(a: uuid.UUID, b: uuid.UUID) -> int:
    """One key per unordered pair: likes, blocks and match creation of the pair take it."""
    low, high = sorted((a, b))
    return _lock_key(b"social.pair:", low, high)


@dataclass(frozen=True, slots=True)
class LockedUser:
    """What the social rules read from the acting user's locked row."""

    status: str
    suspended_until: datetime | None
    last_pass_undo_at: datetime | None
    birthdate: date


_user = table(User).c
_LOCK_USER_ROW = (select(_user.status, _user.suspended_until, _user.last_pass_undo_at, _user.birthdate)
                  .where(_user.id == USER).with_for_update(key_share=True))
_LOCK_USER_ROW_RAW = RawStatement.of(_LOCK_USER_ROW)  # every like and pass: past SQLAlchemy's per-statement path


async def lock_user_row(session: AsyncSession, user_id: uuid.UUID) -> LockedUser | None:
    """Lock the user's row until commit (serialises that user's likes, passes, pass undos and deletion).

    FOR NO KEY UPDATE, not FOR UPDATE: rows referencing the user (a like *to* them, their event counter)
    take KEY SHARE on it, and two people liking each other at once must not wait on each other's row.
    Only the columns the rules read are loaded (no ORM object: this runs on every like and pass).
    """
    rows = await _LOCK_USER_ROW_RAW.fetch(session, {"user": user_id})
    return LockedUser(*rows[0][:]) if rows else None


# The liker's row lock (``_LOCK_USER_ROW``), then the target's and the pair's advisory locks, then the clock, in one
# round trip and in the lock order: the row is locked in a materialised CTE, and the advisory locks are taken in a
# subquery that reads that CTE, so they run once the row is locked (and not at all when there is no such liker);
# its OFFSET keeps PostgreSQL from merging the subquery, so the clock is read after both are held
_LIKER = _LOCK_USER_ROW.cte("liker").prefix_with("MATERIALIZED")
_HELD = (select(func.pg_advisory_xact_lock_shared(bindparam("user_key", type_=BigInteger)),
                func.pg_advisory_xact_lock(bindparam("pair_key", type_=BigInteger)))
         .select_from(_LIKER).offset(0).subquery("held"))
_LOCK_LIKE = RawStatement.of(  # every like: past SQLAlchemy's per-statement path
    select(*_LIKER.c, select(func.clock_timestamp()).select_from(_HELD).scalar_subquery().label("now"))
    .select_from(_LIKER))


async def lock_like(session: AsyncSession, liker_id: uuid.UUID,
                    target_id: uuid.UUID) -> tuple[LockedUser, datetime] | None:
    """Lock the liker's row (as ``lock_user_row``), hold off the target's deletion and serialise the pair, in one
    round trip: the liker's row and the clock once every lock is held; None when there is no such liker (then
    no advisory lock was taken)."""
    rows = await _LOCK_LIKE.fetch(session, {"user": liker_id, "user_key": user_lock_key(target_id),
                                            "pair_key": pair_lock_key(liker_id, target_id)})
    if not rows:
        return None
    row = rows[0]
    return LockedUser(*row[:4]), row[4]


_ADVISORY_LOCK = select(func.pg_advisory_xact_lock(bindparam("key", type_=BigInteger)))


async def lock_pair(session: AsyncSession, a: uuid.UUID, b: uuid.UUID) -> None:
    await session.execute(_ADVISORY_LOCK, {"key": pair_lock_key(a, b)})


async def lock_user_exclusive(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Wait for every like aimed at the user to commit, and keep new ones out until commit."""
    await session.execute(_ADVISORY_LOCK, {"key": user_lock_key(user_id)})
