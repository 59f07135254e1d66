"""All SQL of chat: matches as seen by a member, messages, read positions and blocks."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Text, Uuid, and_, bindparam, exists, func, or_, select, true, tuple_, update
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import Block, Match, Message, table
from domain.raw_statements import Fetch, RawStatement


@dataclass(frozen=True, slots=True)
class MatchRow:
    """The parts of a match chat needs."""

    id: uuid.UUID
    user_a: uuid.UUID
    user_b: uuid.UUID
    state: str
    blocked: bool  # either member blocked the other (read with the row, see ``member_match``)
    matched_at: datetime  # contact shielding applies during a match's first 24 hours


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """One message row."""

    id: uuid.UUID
    match_id: uuid.UUID
    sender_id: uuid.UUID
    body: str
    client_msg_id: str
    created_at: datetime
    safety: list[str]  # contact shielding flags, sorted (``domain/safety/shielding.py``)


# The statements are built once, with bound parameters, on the tables rather than the mapped classes:
# building one per call cost CPU (construction and its cache key), and the CTEs, EXISTS and ON CONFLICT
# clauses left reference cycles (column proxies) that only the cyclic garbage collector frees, pausing the
# event loop (docs/load.md); an ORM statement would run the ORM's result loading (and, for an INSERT given
# parameters, its bulk path), which these plain rows do not need. A writing statement's parameters are named
# unlike any column ("p_..."): INSERT and UPDATE take a parameter named like a column of their table as a
# value for that column.
_matches, _messages, _blocks = table(Match), table(Message), table(Block)
_match, _message, _block = _matches.c, _messages.c, _blocks.c
_MESSAGE_COLUMNS = (_message.id, _message.match_id, _message.sender_id, _message.body, _message.client_msg_id,
                    _message.created_at, _message.safety)
_MATCH_ID, _USER_ID = bindparam("match_id", type_=Uuid), bindparam("user_id", type_=Uuid)
_BLOCKED = exists().where(or_(and_(_block.blocker_id == _match.user_a, _block.blocked_id == _match.user_b),
                              and_(_block.blocker_id == _match.user_b, _block.blocked_id == _match.user_a)))
_MEMBER_MATCH = select(_match.id, _match.user_a, _match.user_b, _match.state, _BLOCKED, _match.matched_at).where(
    _match.id == _MATCH_ID, or_(_match.user_a == _USER_ID, _match.user_b == _USER_ID))
_OWN_MESSAGE = select(*_MESSAGE_COLUMNS).where(_message.sender_id == bindparam("sender_id"),
                                               _message.client_msg_id == bindparam("client_msg_id"))
# A send's match, locked, and the message the sender already stored under the key (a retry's), in one round
# trip. The message part reads the statement's snapshot: a retry that commits while this waits for the lock is
# not seen, and the insert then finds the key taken (``insert_message`` returns None), which ``send`` handles
_OWN_LATERAL = _OWN_MESSAGE.lateral("own")
_SENDERS_MATCH = (_MEMBER_MATCH.add_columns(*_OWN_LATERAL.c).outerjoin(_OWN_LATERAL, true())
                  .with_for_update(key_share=True, of=_matches))
# The member's match and one of its messages, in one round trip: a history page's cursor. The message was seen
# by the client, so it committed before this statement began
_IN_MATCH_LATERAL = select(*_MESSAGE_COLUMNS).where(_message.id == bindparam("message_id"),
                                                    _message.match_id == _match.id).lateral("message")
_WITH_MESSAGE = _MEMBER_MATCH.add_columns(*_IN_MATCH_LATERAL.c).outerjoin(_IN_MATCH_LATERAL, true())
_STORED = (insert(_messages)
           .values(id=bindparam("p_id"), match_id=bindparam("p_match"), sender_id=bindparam("p_sender"),
                   body=bindparam("p_body"), client_msg_id=bindparam("p_client_msg_id"),
                   created_at=func.clock_timestamp(), safety=bindparam("p_safety", type_=ARRAY(Text)))
           .on_conflict_do_nothing(index_elements=[_message.sender_id, _message.client_msg_id])
           .returning(*_MESSAGE_COLUMNS)).cte("stored")
_TOUCHED = (update(_matches).where(_match.id == _STORED.c.match_id)
            .values(last_message_at=func.greatest(func.coalesce(_match.last_message_at, _STORED.c.created_at),
                                                  _STORED.c.created_at))
            .returning(_match.id)).cte("touched")
_INSERT_MESSAGE = select(*_STORED.c).add_cte(_TOUCHED)
_HISTORY = select(*_MESSAGE_COLUMNS).where(_message.match_id == _MATCH_ID)
_HISTORY_ORDER = (_message.created_at.desc(), _message.id.desc())
_HISTORY_FIRST = _HISTORY.order_by(*_HISTORY_ORDER).limit(bindparam("limit", type_=Integer))
# the plain bound lets the (match_id, created_at DESC, id) index start at the cursor
_HISTORY_BEFORE = _HISTORY.where(
    _message.created_at <= bindparam("before_at"),
    tuple_(_message.created_at, _message.id) < tuple_(bindparam("before_at"), bindparam("before_id")),
).order_by(*_HISTORY_ORDER).limit(bindparam("limit", type_=Integer))


# The statements of sending, reading and history pages run past SQLAlchemy's per-statement path
# (domain/raw_statements.py).
_MEMBER_MATCH_RAW = RawStatement.of(_MEMBER_MATCH)
_OWN_MESSAGE_RAW = RawStatement.of(_OWN_MESSAGE)
_SENDERS_MATCH_RAW = RawStatement.of(_SENDERS_MATCH)
_WITH_MESSAGE_RAW = RawStatement.of(_WITH_MESSAGE)
_INSERT_MESSAGE_RAW = RawStatement.of(_INSERT_MESSAGE)
_HISTORY_FIRST_RAW = RawStatement.of(_HISTORY_FIRST)
_HISTORY_BEFORE_RAW = RawStatement.of(_HISTORY_BEFORE)


def _first(rows: Sequence[Any]) -> Any | None:
    return rows[0] if rows else None


def _stored_message(row: Sequence[Any]) -> StoredMessage:
    return StoredMessage(*row)


def _match_row(row: Sequence[Any]) -> MatchRow:
    return MatchRow(row[0], row[1], row[2], row[3], bool(row[4]), row[5])


async def _match_and_message(session: AsyncSession, statement: RawStatement,
                             params: dict[str, Any]) -> tuple[MatchRow, StoredMessage | None] | None:
    """A match row followed by a message's columns (all NULL when there is no such message)."""
    row = _first(await statement.fetch(session, params))
    if row is None:
        return None
    return _match_row(row), None if row[6] is None else _stored_message(row[6:])


async def member_match(session: AsyncSession, match_id: uuid.UUID, user_id: uuid.UUID) -> MatchRow | None:
    """The match if ``user_id`` is one of its two members, else None; whether a member blocked the other comes
    in the same round trip."""
    row = _first(await _MEMBER_MATCH_RAW.fetch(session, {"match_id": match_id, "user_id": user_id}))
    return None if row is None else _match_row(row)


async def senders_match(session: AsyncSession, match_id: uuid.UUID, sender_id: uuid.UUID,
                        client_msg_id: str) -> tuple[MatchRow, StoredMessage | None] | None:
    """``member_match`` locked for a send (FOR NO KEY UPDATE: senders of one match are serialised, state changes
    held off until commit) and ``own_message``, in one round trip; None if the sender is not a member. The
    message may be missing when a retry committed while this waited for the lock. A block that commits while
    this waits may not be seen by the block part (the statement's snapshot), but a block always ends an open
    match by updating this row, so the row returned then is no longer open."""
    params = {"match_id": match_id, "user_id": sender_id, "sender_id": sender_id, "client_msg_id": client_msg_id}
    return await _match_and_message(session, _SENDERS_MATCH_RAW, params)


async def member_match_alone(fetch: Fetch, match_id: uuid.UUID, user_id: uuid.UUID) -> MatchRow | None:
    """``member_match`` run alone by ``fetch`` (``ReadSessions.fetch_alone``): no session around it."""
    row = _first(await fetch(_MEMBER_MATCH_RAW, {"match_id": match_id, "user_id": user_id}))
    return None if row is None else _match_row(row)


async def member_match_with_message(session: AsyncSession, match_id: uuid.UUID, user_id: uuid.UUID,
                                    message_id: uuid.UUID) -> tuple[MatchRow, StoredMessage | None] | None:
    """``member_match`` and the match's message ``message_id`` (None: no such message in it), one round trip;
    None if ``user_id`` is not a member."""
    params = {"match_id": match_id, "user_id": user_id, "message_id": message_id}
    return await _match_and_message(session, _WITH_MESSAGE_RAW, params)


async def own_message(session: AsyncSession, sender_id: uuid.UUID, client_msg_id: str) -> StoredMessage | None:
    """The message ``sender_id`` already stored under ``client_msg_id``, if any."""
    params = {"sender_id": sender_id, "client_msg_id": client_msg_id}
    row = _first(await _OWN_MESSAGE_RAW.fetch(session, params))
    return None if row is None else _stored_message(row)


async def insert_message(session: AsyncSession, match_id: uuid.UUID, sender_id: uuid.UUID, body: str,
                         client_msg_id: str, safety: Sequence[str] = ()) -> StoredMessage | None:
    """Store a message and make it the match's latest; None when ``(sender_id, client_msg_id)`` already exists
    (a concurrent retry won). One round trip.

    ``created_at`` is the clock at insert time, not the transaction start: senders of one match are
    serialised by the match lock, so timestamps follow the order in which messages were stored; the
    match's ``last_message_at`` never moves back.
    """
    params = {"p_id": uuid.uuid4(), "p_match": match_id, "p_sender": sender_id, "p_body": body,
              "p_client_msg_id": client_msg_id, "p_safety": list(safety)}
    row = _first(await _INSERT_MESSAGE_RAW.fetch(session, params))
    return None if row is None else _stored_message(row)


async def history(session: AsyncSession, match_id: uuid.UUID, before: StoredMessage | None,
                  limit: int) -> list[StoredMessage]:
    """Up to ``limit`` messages of the match older than ``before`` (by ``(created_at, id)``), newest first."""
    if before is None:
        rows = await _HISTORY_FIRST_RAW.fetch(session, {"match_id": match_id, "limit": limit})
    else:
        rows = await _HISTORY_BEFORE_RAW.fetch(session, {"match_id": match_id, "limit": limit,
                                                         "before_at": before.created_at, "before_id": before.id})
    return [_stored_message(row) for row in rows]
