"""All SQL of the social area: locks, likes, passes, matches, blocks and reports.

Lock order, the same everywhere so that nothing can deadlock: the acting user's row
(``FOR NO KEY UPDATE``), then the target user's advisory lock (shared for likes, exclusive
for an account deletion), then the pair's advisory lock, then match rows; durable
events are appended last, in ascending user id order (see ``domain.social.notify``).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    Exists,
    Integer,
    Select,
    Uuid,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    or_,
    select,
    text,
    true,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import Block, Like, Match, Pass, Report, User, table

# Statements that run on every like, pass, match or chat command are built once, with bound parameters, on
# the tables rather than the mapped classes: building one per call costs CPU (construction and its cache
# key), and CTEs, aliases and EXISTS clauses leave reference cycles that only the cyclic garbage collector
# frees, pausing the event loop (docs/load.md); an ORM statement would run the ORM's result loading (and,
# for an INSERT given parameters, its bulk path), which these plain rows do not need. Rarer statements are
# built where they run, on the mapped classes. A writing statement's own parameters are named
# unlike any column of its table ("p_..."): INSERT and UPDATE take a parameter named like a column as a value
# for that column.
_ACTOR, _TARGET, _USER = bindparam("actor", type_=Uuid), bindparam("target", type_=Uuid), bindparam("user", type_=Uuid)
_NOW = bindparam("now", type_=DateTime(timezone=True))
_users, _likes, _passes, _matches, _blocks = table(User), table(Like), table(Pass), table(Match), table(Block)
_user, _like, _pass, _match, _block = _users.c, _likes.c, _passes.c, _matches.c, _blocks.c

# -- locks and the clock ---------------------------------------------------------------------------------------


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


_CLOCK = select(func.clock_timestamp())


async def clock(session: AsyncSession) -> datetime:
    """The database's clock now (not the transaction start): one clock for every node."""
    return (await session.execute(_CLOCK)).scalar_one()  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class LockedUser:
    """What the social rules read from the acting user's locked row."""

    status: str
    suspended_until: datetime | None
    last_pass_undo_at: datetime | None
    birthdate: date


async def lock_user_row(session: AsyncSession, user_id: uuid.UUID) -> LockedUser | None:
    """Lock the user's row until commit (serialises that user's likes, passes, pass undos and deletion).

    FOR NO KEY UPDATE, not FOR UPDATE: rows referencing the user (a like *to* them, their event counter)
    take KEY SHARE on it, and two people liking each other at once must not wait on each other's row.
    Only the columns the rules read are loaded (no ORM object: this runs on every like and pass).
    """
    row = (await session.execute(_LOCK_USER_ROW, {"user": user_id})).one_or_none()
    return None if row is None else LockedUser(*row)


_LOCK_USER_ROW = (select(_user.status, _user.suspended_until, _user.last_pass_undo_at, _user.birthdate)
                  .where(_user.id == _USER).with_for_update(key_share=True))


_LOCK_LIKE = text("""
SELECT clock_timestamp()
FROM (SELECT pg_advisory_xact_lock_shared(:user_key), pg_advisory_xact_lock(:pair_key) OFFSET 0) AS held
""")


async def lock_like(session: AsyncSession, liker_id: uuid.UUID, target_id: uuid.UUID) -> datetime:
    """Hold off the target's deletion and serialise the pair; return the clock once both are held.

    One round trip: the locks are taken in a subquery that PostgreSQL evaluates first (OFFSET 0 keeps it
    from being merged), so the clock is read after both are held.
    """
    row = await session.execute(_LOCK_LIKE, {"user_key": user_lock_key(target_id),
                                             "pair_key": pair_lock_key(liker_id, target_id)})
    return row.scalar_one()  # type: ignore[no-any-return]


_ADVISORY_LOCK = select(func.pg_advisory_xact_lock(bindparam("key", type_=BigInteger)))


async def lock_pair(session: AsyncSession, a: uuid.UUID, b: uuid.UUID) -> None:
    await session.execute(_ADVISORY_LOCK, {"key": pair_lock_key(a, b)})


async def lock_user_exclusive(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Wait for every like aimed at the user to commit, and keep new ones out until commit."""
    await session.execute(_ADVISORY_LOCK, {"key": user_lock_key(user_id)})


# -- people ----------------------------------------------------------------------------------------------------
Who = uuid.UUID | ColumnElement[uuid.UUID]


def _blocked_between(a: Who, b: Who) -> Exists:
    return exists().where(or_(and_(_block.blocker_id == a, _block.blocked_id == b),
                              and_(_block.blocker_id == b, _block.blocked_id == a)))


def _active_pass(passer: Who, passee: Who, now: datetime | ColumnElement[datetime]) -> Exists:
    return exists().where(_pass.passer_id == passer, _pass.passee_id == passee, _pass.expires_at > now)


@dataclass(frozen=True, slots=True)
class Target:
    """What the like and pass checks need to know about the other person."""

    status: str
    suspended_until: datetime | None
    blocked: bool  # either way
    passed_by_actor: bool  # the actor's pass on the target is active
    liked_by_actor: bool


def _target_select(now: ColumnElement[datetime]) -> Select[Any]:
    """The target (``:target``) as the actor (``:actor``) relates to it, with passes judged at ``now``."""
    return select(
        _user.status, _user.suspended_until, _blocked_between(_ACTOR, _user.id),
        _active_pass(_ACTOR, _user.id, now),
        exists().where(_like.liker_id == _ACTOR, _like.likee_id == _user.id),
    ).where(_user.id == _TARGET)


_TARGET_AT = _target_select(_NOW)
_CLOCK_NOW = select(func.clock_timestamp().label("now")).cte("now")  # volatile: evaluated once, not inlined
_TARGET_AND_CLOCK = _target_select(_CLOCK_NOW.c.now).add_columns(_CLOCK_NOW.c.now).join(_CLOCK_NOW, true())


async def target(session: AsyncSession, actor_id: uuid.UUID, target_id: uuid.UUID, now: datetime) -> Target | None:
    """The target as the actor relates to it, in one round trip; None if no such user."""
    row = (await session.execute(_TARGET_AT, {"actor": actor_id, "target": target_id, "now": now})).one_or_none()
    return None if row is None else Target(*row)


async def target_and_clock(session: AsyncSession, actor_id: uuid.UUID,
                           target_id: uuid.UUID) -> tuple[Target | None, datetime | None]:
    """``target`` and the database's clock in one round trip (the clock only when the target exists)."""
    row = (await session.execute(_TARGET_AND_CLOCK, {"actor": actor_id, "target": target_id})).one_or_none()
    return (None, None) if row is None else (Target(*row[:-1]), row[-1])


_USER_STATUS = select(_user.status).where(_user.id == _USER)


async def user_status(session: AsyncSession, user_id: uuid.UUID) -> str | None:
    return (await session.execute(_USER_STATUS, {"user": user_id})).scalar_one_or_none()


# -- likes -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LikeCounts:
    """The liker's counters, read under the liker's row lock."""

    today: int
    ever: int  # capped: only "fewer than five or not" matters
    same_comment: int  # capped likewise
    recent: list[datetime]  # the newest likes inside the velocity window (at most the velocity limit)


_LIKE_COUNTS = text("""
SELECT
  coalesce((SELECT count FROM daily_like_counts WHERE user_id = :liker AND day = :day), 0),
  (SELECT count(*) FROM (SELECT 1 FROM likes WHERE liker_id = :liker LIMIT :ever_cap) AS first_likes),
  (SELECT count(*) FROM (SELECT 1 FROM likes WHERE liker_id = :liker AND comment_norm = :norm
                         LIMIT :same_cap) AS same_text),
  ARRAY(SELECT created_at FROM likes WHERE liker_id = :liker AND created_at > :since
        ORDER BY created_at DESC LIMIT :recent_cap)
""")


async def like_counts(session: AsyncSession, liker_id: uuid.UUID, day: date, norm: str | None, since: datetime,
                      *, ever_cap: int, same_cap: int, recent_cap: int) -> LikeCounts:
    row = (await session.execute(_LIKE_COUNTS, {
        "liker": liker_id, "day": day, "norm": norm, "since": since,
        "ever_cap": ever_cap, "same_cap": same_cap, "recent_cap": recent_cap})).one()
    return LikeCounts(int(row[0]), int(row[1]), int(row[2]), list(row[3]))


@dataclass(frozen=True, slots=True)
class StoredLike:
    """A like just stored, with what decides what it causes."""

    id: uuid.UUID
    today: int  # the liker's likes today, this one included
    liked_back: bool  # the target liked the liker
    passed_by_target: bool  # the target's pass on the liker is active


_STORE_LIKE = text("""
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
    row = (await session.execute(_STORE_LIKE, {
        "id": uuid.uuid4(), "liker": liker_id, "likee": likee_id, "comment": comment, "norm": comment_norm,
        "now": now, "day": day})).one_or_none()
    return None if row is None else StoredLike(row[0], int(row[1]), bool(row[2]), bool(row[3]))


@dataclass(frozen=True, slots=True)
class PendingLike:
    id: uuid.UUID
    liker_id: uuid.UUID
    comment: str | None
    created_at: datetime


def _pending_likes() -> Select[Any]:
    liker = _users.alias("liker")
    mine = _likes.alias("mine")
    return (
        select(_like.id, _like.liker_id, _like.comment, _like.created_at)
        .join(liker, liker.c.id == _like.liker_id)
        .where(
            _like.likee_id == _USER,
            or_(liker.c.status == "active", and_(liker.c.status == "suspended", liker.c.suspended_until <= _NOW)),
            ~exists().where(_match.user_a == func.least(_like.liker_id, _USER),
                            _match.user_b == func.greatest(_like.liker_id, _USER)),
            ~_blocked_between(_like.liker_id, _USER),
            ~_active_pass(_USER, _like.liker_id, _NOW),
            ~exists().where(mine.c.liker_id == _USER, mine.c.likee_id == _like.liker_id),
        )
        .order_by(_like.created_at.desc(), _like.id.desc())
        .limit(bindparam("limit", type_=Integer))
    )


_PENDING_LIKES = _pending_likes()


async def pending_likes(session: AsyncSession, user_id: uuid.UUID, now: datetime, limit: int) -> list[PendingLike]:
    """Likes received from active people the user has not matched, blocked either way, passed or liked back."""
    result = await session.execute(_PENDING_LIKES, {"user": user_id, "now": now, "limit": limit})
    return [PendingLike(*row) for row in result.all()]


# -- passes ----------------------------------------------------------------------------------------------------
_NEW_PASS = insert(_passes).values(passer_id=_ACTOR, passee_id=_TARGET, created_at=_NOW,
                                   expires_at=bindparam("p_expires_at", type_=DateTime(timezone=True)))
_UPSERT_PASS = (_NEW_PASS.on_conflict_do_update(index_elements=[_pass.passer_id, _pass.passee_id],
                                                set_={"created_at": _NEW_PASS.excluded.created_at,
                                                      "expires_at": _NEW_PASS.excluded.expires_at})
                .returning(_pass.expires_at))


async def upsert_pass(session: AsyncSession, passer_id: uuid.UUID, passee_id: uuid.UUID, now: datetime,
                      expires_at: datetime) -> datetime:
    """Pass (again): the pass runs to ``expires_at`` from now on."""
    params = {"actor": passer_id, "target": passee_id, "now": now, "p_expires_at": expires_at}
    return (await session.execute(_UPSERT_PASS, params)).scalar_one()  # type: ignore[no-any-return]


async def delete_active_pass(session: AsyncSession, passer_id: uuid.UUID, passee_id: uuid.UUID,
                             now: datetime) -> bool:
    """Remove the passer's active pass on the passee; False if there was none."""
    stmt = (delete(Pass).where(Pass.passer_id == passer_id, Pass.passee_id == passee_id, Pass.expires_at > now)
            .returning(Pass.passee_id))
    return (await session.execute(stmt)).one_or_none() is not None


async def set_last_pass_undo(session: AsyncSession, user_id: uuid.UUID, at: datetime) -> None:
    await session.execute(update(User).where(User.id == user_id).values(last_pass_undo_at=at))


# -- matches ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class MatchRow:
    """One match as the social area uses it."""

    id: uuid.UUID
    user_a: uuid.UUID
    user_b: uuid.UUID
    state: str
    matched_at: datetime
    state_changed_at: datetime
    a_dating_confirmed_at: datetime | None
    b_dating_confirmed_at: datetime | None
    last_message_at: datetime | None

    def partner(self, user_id: uuid.UUID) -> uuid.UUID:
        return self.user_b if user_id == self.user_a else self.user_a

    def confirmed(self, user_id: uuid.UUID) -> bool:
        """True if ``user_id`` confirmed they are dating."""
        at = self.a_dating_confirmed_at if user_id == self.user_a else self.b_dating_confirmed_at
        return at is not None


_MATCH_COLUMNS = (_match.id, _match.user_a, _match.user_b, _match.state, _match.matched_at, _match.state_changed_at,
                  _match.a_dating_confirmed_at, _match.b_dating_confirmed_at, _match.last_message_at)
_LOW, _HIGH = bindparam("low", type_=Uuid), bindparam("high", type_=Uuid)
_STATES = bindparam("states", expanding=True)
_INSERT_MATCH = (insert(_matches).values(id=bindparam("p_id", type_=Uuid), user_a=_LOW, user_b=_HIGH,
                                         state="active", matched_at=_NOW, state_changed_at=_NOW)
                 .on_conflict_do_nothing(index_elements=[_match.user_a, _match.user_b])
                 .returning(*_MATCH_COLUMNS))
_MEMBER_MATCH = select(*_MATCH_COLUMNS).where(_match.id == bindparam("match_id", type_=Uuid),
                                              or_(_match.user_a == _USER, _match.user_b == _USER))
_MEMBER_MATCH_LOCKED = _MEMBER_MATCH.with_for_update(key_share=True)
_PAIR_MATCH = (select(*_MATCH_COLUMNS).where(_match.user_a == _LOW, _match.user_b == _HIGH)
               .with_for_update(key_share=True))
_OPEN_MATCHES_OF = (select(*_MATCH_COLUMNS)
                    .where(or_(_match.user_a == _USER, _match.user_b == _USER), _match.state.in_(_STATES))
                    .order_by(_match.id).with_for_update(key_share=True))
_PARTNER = case((_match.user_a == _USER, _match.user_b), else_=_match.user_a)
_LIST_MATCHES = select(*_MATCH_COLUMNS).where(
    or_(_match.user_a == _USER, _match.user_b == _USER), _match.state.in_(_STATES), ~_blocked_between(_USER, _PARTNER))
_LIST_MATCHES_ORDER = (_match.matched_at.desc(), _match.id.desc())
_LIST_MATCHES_FIRST = _LIST_MATCHES.order_by(*_LIST_MATCHES_ORDER).limit(bindparam("limit", type_=Integer))
_LIST_MATCHES_AFTER = (_LIST_MATCHES.where(tuple_(_match.matched_at, _match.id)
                                           < tuple_(bindparam("after_at"), bindparam("after_id")))
                       .order_by(*_LIST_MATCHES_ORDER).limit(bindparam("limit", type_=Integer)))


async def insert_match(session: AsyncSession, a: uuid.UUID, b: uuid.UUID, now: datetime) -> MatchRow | None:
    """Create the pair's match; None if the pair already has one (one row per unordered pair)."""
    low, high = sorted((a, b))
    row = (await session.execute(_INSERT_MATCH, {"p_id": uuid.uuid4(), "low": low, "high": high, "now": now})
           ).one_or_none()
    return None if row is None else MatchRow(*row)


async def member_match(session: AsyncSession, match_id: uuid.UUID, user_id: uuid.UUID, *,
                       for_update: bool = False) -> MatchRow | None:
    """The match if ``user_id`` is one of its two members (locked FOR NO KEY UPDATE on request)."""
    stmt = _MEMBER_MATCH_LOCKED if for_update else _MEMBER_MATCH
    row = (await session.execute(stmt, {"match_id": match_id, "user": user_id})).one_or_none()
    return None if row is None else MatchRow(*row)


async def pair_match(session: AsyncSession, a: uuid.UUID, b: uuid.UUID) -> MatchRow | None:
    """The pair's match, locked."""
    low, high = sorted((a, b))
    row = (await session.execute(_PAIR_MATCH, {"low": low, "high": high})).one_or_none()
    return None if row is None else MatchRow(*row)


async def open_matches_of(session: AsyncSession, user_id: uuid.UUID, states: Sequence[str]) -> list[MatchRow]:
    """The user's matches in ``states``, locked, in id order."""
    result = await session.execute(_OPEN_MATCHES_OF, {"user": user_id, "states": list(states)})
    return [MatchRow(*row) for row in result.all()]


async def set_state(session: AsyncSession, match_id: uuid.UUID, state: str, now: datetime, *,
                    unmatched_by: uuid.UUID | None = None, unmatch_reason: str | None = None) -> None:
    """Move the match to ``state``; dating confirmations only survive into ``dating`` itself."""
    values: dict[str, object] = {"state": state, "state_changed_at": now}
    if unmatched_by is not None:
        values["unmatched_by"] = unmatched_by
        values["unmatch_reason"] = unmatch_reason
    if state != "dating":
        values["a_dating_confirmed_at"] = None
        values["b_dating_confirmed_at"] = None
    await session.execute(update(Match).where(Match.id == match_id).values(**values))


async def confirm_dating(session: AsyncSession, match: MatchRow, user_id: uuid.UUID, now: datetime) -> MatchRow:
    """Record that ``user_id`` confirms dating (keeping an earlier confirmation); return the updated row."""
    column = Match.a_dating_confirmed_at if user_id == match.user_a else Match.b_dating_confirmed_at
    stmt = (update(Match).where(Match.id == match.id)
            .values({column: func.coalesce(column, now)}).returning(*_MATCH_COLUMNS))
    return MatchRow(*(await session.execute(stmt)).one())


async def list_matches(session: AsyncSession, user_id: uuid.UUID, states: Sequence[str],
                       after: tuple[datetime, uuid.UUID] | None, limit: int) -> list[MatchRow]:
    """The user's matches in ``states``, newest match first by ``(matched_at, id)``, after the cursor.

    Matches with a block between the two are left out: a blocked person's card is never shown.
    """
    params: dict[str, Any] = {"user": user_id, "states": list(states), "limit": limit}
    if after is None:
        result = await session.execute(_LIST_MATCHES_FIRST, params)
    else:
        result = await session.execute(_LIST_MATCHES_AFTER, {**params, "after_at": after[0], "after_id": after[1]})
    return [MatchRow(*row) for row in result.all()]


async def idle_matches(session: AsyncSession, cutoff: datetime, limit: int) -> list[MatchRow]:
    """Active matches without a message since ``cutoff``, locked; rows other nodes hold are skipped."""
    stmt = (select(*_MATCH_COLUMNS)
            .where(Match.state == "active", func.coalesce(Match.last_message_at, Match.matched_at) < cutoff)
            .order_by(func.coalesce(Match.last_message_at, Match.matched_at))
            .limit(limit).with_for_update(key_share=True, skip_locked=True))
    return [MatchRow(*row) for row in (await session.execute(stmt)).all()]


# -- blocks and reports ----------------------------------------------------------------------------------------
async def insert_block(session: AsyncSession, blocker_id: uuid.UUID, blocked_id: uuid.UUID) -> None:
    """Block (a second block of the same person changes nothing).

    Stamped with the clock at insert time (after the pair and match locks), as messages are, so a
    message dated after a block really was written after it.
    """
    stmt = insert(Block).values(blocker_id=blocker_id, blocked_id=blocked_id,
                                created_at=func.clock_timestamp()).on_conflict_do_nothing()
    await session.execute(stmt)


async def insert_report(session: AsyncSession, reporter_id: uuid.UUID, reported_id: uuid.UUID, reason: str,
                        details: str | None, now: datetime) -> tuple[uuid.UUID, datetime]:
    stmt = (insert(Report).values(id=uuid.uuid4(), reporter_id=reporter_id, reported_id=reported_id, reason=reason,
                                  details=details, created_at=now)
            .returning(Report.id, Report.created_at))
    row = (await session.execute(stmt)).one()
    return row[0], row[1]
