"""Matches: creating the pair's match, finding and locking matches, their state and dating confirmations."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    Integer,
    Select,
    String,
    Uuid,
    and_,
    any_,
    bindparam,
    case,
    func,
    or_,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import Match, MatchRead, Message, table
from domain.raw_statements import RawStatement
from domain.social.store_common import NOW, USER, blocked_between
from domain.wire.enums import MatchState


@dataclass(frozen=True, slots=True)
class MatchRow:
    """One match as the social area uses it (its fields are ``_MATCH_COLUMNS``, in that order)."""

    id: uuid.UUID
    user_a: uuid.UUID
    user_b: uuid.UUID
    state: MatchState  # the CHECK of matches.state keeps the column to these
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


_matches = table(Match)
_match = _matches.c
_MATCH_COLUMNS = (_match.id, _match.user_a, _match.user_b, _match.state, _match.matched_at, _match.state_changed_at,
                  _match.a_dating_confirmed_at, _match.b_dating_confirmed_at, _match.last_message_at)
_LOW, _HIGH = bindparam("low", type_=Uuid), bindparam("high", type_=Uuid)
_STATES: BindParameter[str] = bindparam("states", expanding=True)
INSERT_MATCH = (insert(_matches).values(id=bindparam("p_id", type_=Uuid), user_a=_LOW, user_b=_HIGH,
                                         state="active", matched_at=NOW, state_changed_at=NOW)
                 .on_conflict_do_nothing(index_elements=[_match.user_a, _match.user_b])
                 .returning(*_MATCH_COLUMNS))
_MEMBER_MATCH = select(*_MATCH_COLUMNS).where(_match.id == bindparam("match_id", type_=Uuid),
                                              or_(_match.user_a == USER, _match.user_b == USER))
_MEMBER_MATCH_LOCKED = _MEMBER_MATCH.with_for_update(key_share=True)
_PAIR_MATCH = (select(*_MATCH_COLUMNS).where(_match.user_a == _LOW, _match.user_b == _HIGH)
               .with_for_update(key_share=True))
_OPEN_MATCHES_OF = (select(*_MATCH_COLUMNS)
                    .where(or_(_match.user_a == USER, _match.user_b == USER), _match.state.in_(_STATES))
                    .order_by(_match.id).with_for_update(key_share=True))
_PARTNER = case((_match.user_a == USER, _match.user_b), else_=_match.user_a)
# the states as one array parameter (``= ANY``), not an IN list, so the page's statement runs past SQLAlchemy's
# per-statement path (domain/raw_statements.py): one statement of every ``matches.list``
_LIST_MATCHES = select(*_MATCH_COLUMNS).where(
    or_(_match.user_a == USER, _match.user_b == USER),
    _match.state == any_(bindparam("states", type_=ARRAY(String))), ~blocked_between(USER, _PARTNER))
_LIST_MATCHES_ORDER = (_match.matched_at.desc(), _match.id.desc())
_PAGE_FIRST = _LIST_MATCHES.order_by(*_LIST_MATCHES_ORDER).limit(bindparam("limit", type_=Integer))
_PAGE_AFTER = (_LIST_MATCHES.where(tuple_(_match.matched_at, _match.id)
                                   < tuple_(bindparam("after_at"), bindparam("after_id")))
               .order_by(*_LIST_MATCHES_ORDER).limit(bindparam("limit", type_=Integer)))
LAST_MESSAGE_CHARS = 140


def _with_inbox(page_query: Select[Any]) -> Select[Any]:
    """The page's matches (picked first, so only they are looked into) with each one's inbox columns.

    ``unread``: messages from the partner after the caller's read position (``(created_at, id)`` order, as
    ``messages.read`` moves it; all of the partner's messages when the caller never read); the newest message
    with its body cut to ``LAST_MESSAGE_CHARS``. Both walk the ``(match_id, created_at DESC, id)
    INCLUDE (sender_id)`` index of messages, the count only over the unread part.
    """
    page = page_query.subquery("page")
    reads = table(MatchRead).alias("r")
    counted = table(Message).alias("u")
    newest = table(Message).alias("n")
    after_read = tuple_(counted.c.created_at, counted.c.id) > tuple_(reads.c.up_to_at, reads.c.up_to_message_id)
    unread = (select(func.count()).select_from(counted)
              .where(counted.c.match_id == page.c.id, counted.c.sender_id != USER,
                     or_(reads.c.up_to_at.is_(None), after_read))
              .scalar_subquery())
    last = (select(newest.c.id, newest.c.sender_id, func.left(newest.c.body, LAST_MESSAGE_CHARS).label("body"),
                   newest.c.created_at)
            .where(newest.c.match_id == page.c.id)
            .order_by(newest.c.created_at.desc(), newest.c.id.desc()).limit(1).lateral("last"))
    source = (page.outerjoin(reads, and_(reads.c.match_id == page.c.id, reads.c.user_id == USER))
              .outerjoin(last, true()))
    return (select(*page.c, unread.label("unread"), last.c.id, last.c.sender_id, last.c.body, last.c.created_at)
            .select_from(source).order_by(page.c.matched_at.desc(), page.c.id.desc()))


_LIST_MATCHES_FIRST = RawStatement.of(_with_inbox(_PAGE_FIRST))
_LIST_MATCHES_AFTER = RawStatement.of(_with_inbox(_PAGE_AFTER))


@dataclass(frozen=True, slots=True)
class LastMessage:
    """The newest message of a match, its body cut to ``LAST_MESSAGE_CHARS`` characters."""

    id: uuid.UUID
    sender_id: uuid.UUID
    body: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ListedMatch:
    """A match of ``matches.list`` with what the inbox shows of it."""

    match: MatchRow
    unread_count: int
    last_message: LastMessage | None

    @classmethod
    def of(cls, row: Sequence[Any]) -> ListedMatch:
        columns = len(_MATCH_COLUMNS)
        last_id = row[columns + 1]
        last = None if last_id is None else LastMessage(last_id, *row[columns + 2:columns + 5])
        return cls(MatchRow(*row[:columns]), int(row[columns]), last)


async def insert_match(session: AsyncSession, a: uuid.UUID, b: uuid.UUID, now: datetime) -> MatchRow | None:
    """Create the pair's match; None if the pair already has one (one row per unordered pair)."""
    low, high = sorted((a, b))
    row = (await session.execute(INSERT_MATCH, {"p_id": uuid.uuid4(), "low": low, "high": high, "now": now})
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
                       after: tuple[datetime, uuid.UUID] | None, limit: int) -> list[ListedMatch]:
    """The user's matches in ``states``, newest match first by ``(matched_at, id)``, after the cursor, each
    with its unread count and newest message, in one query.

    Matches with a block between the two are left out: a blocked person's card is never shown.
    """
    params: dict[str, Any] = {"user": user_id, "states": list(states), "limit": limit}
    if after is None:
        rows = await _LIST_MATCHES_FIRST.fetch(session, params)
    else:
        rows = await _LIST_MATCHES_AFTER.fetch(session, {**params, "after_at": after[0], "after_id": after[1]})
    return [ListedMatch.of(row) for row in rows]


async def idle_matches(session: AsyncSession, cutoff: datetime, limit: int) -> list[MatchRow]:
    """Active matches without a message since ``cutoff``, locked; rows other nodes hold are skipped."""
    stmt = (select(*_MATCH_COLUMNS)
            .where(Match.state == "active", func.coalesce(Match.last_message_at, Match.matched_at) < cutoff)
            .order_by(func.coalesce(Match.last_message_at, Match.matched_at))
            .limit(limit).with_for_update(key_share=True, skip_locked=True))
    return [MatchRow(*row) for row in (await session.execute(stmt)).all()]
