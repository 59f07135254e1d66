"""All SQL of chat: matches as seen by a member, messages, read positions and blocks."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, exists, func, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import Block, Match, MatchRead, Message

Lock = Literal["update", "share"] | None


@dataclass(frozen=True, slots=True)
class MatchRow:
    """The parts of a match chat needs."""

    id: uuid.UUID
    user_a: uuid.UUID
    user_b: uuid.UUID
    state: str
    blocked: bool  # either member blocked the other (read with the row, see ``member_match``)


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """One message row."""

    id: uuid.UUID
    match_id: uuid.UUID
    sender_id: uuid.UUID
    body: str
    client_msg_id: str
    created_at: datetime


_MESSAGE_COLUMNS = (Message.id, Message.match_id, Message.sender_id, Message.body, Message.client_msg_id,
                    Message.created_at)


def _message(row: Sequence[Any]) -> StoredMessage:
    return StoredMessage(*row)


async def member_match(session: AsyncSession, match_id: uuid.UUID, user_id: uuid.UUID, *,
                       lock: Lock = None) -> MatchRow | None:
    """The match if ``user_id`` is one of its two members, else None.

    ``lock="update"`` (FOR NO KEY UPDATE) serialises senders of one match and holds off state changes
    until commit; ``lock="share"`` (FOR SHARE) only holds off state changes.

    Whether a member blocked the other comes in the same round trip. A block that commits while this
    waits for the row lock may not be seen by that part (it reads the statement's snapshot), but a block
    always ends an open match by updating this row, so the row returned then is no longer open.
    """
    blocked = exists().where(or_(and_(Block.blocker_id == Match.user_a, Block.blocked_id == Match.user_b),
                                 and_(Block.blocker_id == Match.user_b, Block.blocked_id == Match.user_a)))
    stmt = select(Match.id, Match.user_a, Match.user_b, Match.state, blocked).where(
        Match.id == match_id, or_(Match.user_a == user_id, Match.user_b == user_id))
    if lock == "update":
        stmt = stmt.with_for_update(key_share=True)
    elif lock == "share":
        stmt = stmt.with_for_update(read=True)
    row = (await session.execute(stmt)).one_or_none()
    return None if row is None else MatchRow(row[0], row[1], row[2], row[3], bool(row[4]))


async def own_message(session: AsyncSession, sender_id: uuid.UUID, client_msg_id: str) -> StoredMessage | None:
    """The message ``sender_id`` already stored under ``client_msg_id``, if any."""
    stmt = select(*_MESSAGE_COLUMNS).where(Message.sender_id == sender_id, Message.client_msg_id == client_msg_id)
    row = (await session.execute(stmt)).one_or_none()
    return None if row is None else _message(row)


async def insert_message(session: AsyncSession, match_id: uuid.UUID, sender_id: uuid.UUID, body: str,
                         client_msg_id: str) -> StoredMessage | None:
    """Store a message and make it the match's latest; None when ``(sender_id, client_msg_id)`` already exists
    (a concurrent retry won). One round trip.

    ``created_at`` is the clock at insert time, not the transaction start: senders of one match are
    serialised by the match lock, so timestamps follow the order in which messages were stored; the
    match's ``last_message_at`` never moves back.
    """
    stored = (insert(Message)
              .values(id=uuid.uuid4(), match_id=match_id, sender_id=sender_id, body=body,
                      client_msg_id=client_msg_id, created_at=func.clock_timestamp())
              .on_conflict_do_nothing(index_elements=[Message.sender_id, Message.client_msg_id])
              .returning(*_MESSAGE_COLUMNS)).cte("stored")
    touched = (update(Match).where(Match.id == stored.c.match_id)
               .values(last_message_at=func.greatest(func.coalesce(Match.last_message_at, stored.c.created_at),
                                                     stored.c.created_at))
               .returning(Match.id)).cte("touched")
    stmt = select(*stored.c).add_cte(touched)
    row = (await session.execute(stmt)).one_or_none()
    return None if row is None else _message(row)


async def message_in_match(session: AsyncSession, match_id: uuid.UUID, message_id: uuid.UUID) -> StoredMessage | None:
    """The message ``message_id`` if it belongs to ``match_id``."""
    stmt = select(*_MESSAGE_COLUMNS).where(Message.id == message_id, Message.match_id == match_id)
    row = (await session.execute(stmt)).one_or_none()
    return None if row is None else _message(row)


async def history(session: AsyncSession, match_id: uuid.UUID, before: StoredMessage | None,
                  limit: int) -> list[StoredMessage]:
    """Up to ``limit`` messages of the match older than ``before`` (by ``(created_at, id)``), newest first."""
    stmt = select(*_MESSAGE_COLUMNS).where(Message.match_id == match_id)
    if before is not None:
        # the plain bound lets the (match_id, created_at DESC, id) index start at the cursor
        stmt = stmt.where(Message.created_at <= before.created_at,
                          tuple_(Message.created_at, Message.id) < tuple_(before.created_at, before.id))
    stmt = stmt.order_by(Message.created_at.desc(), Message.id.desc()).limit(limit)
    return [_message(row) for row in (await session.execute(stmt)).all()]


async def advance_read(session: AsyncSession, match_id: uuid.UUID, user_id: uuid.UUID,
                       message: StoredMessage) -> bool:
    """Move the member's read position to ``message`` if that is later than the stored one; True if it moved."""
    new = insert(MatchRead).values(match_id=match_id, user_id=user_id, up_to_message_id=message.id,
                                   up_to_at=message.created_at)
    stmt = new.on_conflict_do_update(
        index_elements=[MatchRead.match_id, MatchRead.user_id],
        set_={"up_to_message_id": new.excluded.up_to_message_id, "up_to_at": new.excluded.up_to_at,
              "updated_at": func.now()},
        where=tuple_(MatchRead.up_to_at, MatchRead.up_to_message_id)
        < tuple_(new.excluded.up_to_at, new.excluded.up_to_message_id),
    ).returning(MatchRead.user_id)
    return (await session.execute(stmt)).one_or_none() is not None
