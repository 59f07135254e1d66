"""Chat orchestration: send, history, read receipts and typing. Never commits (the socket handler does).

Every command re-checks, in its own transaction, that the caller is a member of the
match (else ``not_found``), that the match is open for chat and that neither member
blocked the other (else ``conflict``), so an unmatch or a block takes effect at
once, also on sockets that are already open.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Protocol, get_args

from sqlalchemy.ext.asyncio import AsyncSession

from domain.chat import repository as repo
from domain.chat import rules
from domain.chat.repository import MatchRow, StoredMessage
from domain.errors import NotFound
from domain.events.log import EventLog
from domain.raw_statements import Fetch
from domain.safety import screen, shielding
from domain.safety.patterns import WordList
from domain.social import matches
from domain.wire.enums import SafetyFlag
from domain.wire.events import MessageCreated, Typing
from domain.wire.objects import Message
from domain.wire.replies import Empty, HistoryReply, SendReply
from domain.wire.scalars import rfc3339

NO_WORDS = WordList()
SAFETY_FLAGS: tuple[SafetyFlag, ...] = get_args(SafetyFlag)


def message_view(message: StoredMessage) -> Message:
    """The contract's ``message`` object."""
    return {
        "id": str(message.id),
        "match_id": str(message.match_id),
        "sender_id": str(message.sender_id),
        "body": message.body,
        "client_msg_id": message.client_msg_id,
        "created_at": rfc3339(message.created_at),
        "safety": sorted(flag for flag in SAFETY_FLAGS if flag in message.safety),
    }


async def _member_match(session: AsyncSession, user_id: uuid.UUID, match_id: uuid.UUID) -> MatchRow:
    match = await repo.member_match(session, match_id, user_id)
    if match is None:
        raise NotFound("no such match")
    return match


def _ensure_open(user_id: uuid.UUID, match: MatchRow) -> uuid.UUID:
    """Raise ``conflict`` unless the match is open for chat; return the other member."""
    rules.check_open(match.state, match.blocked)
    return rules.partner(match.user_a, match.user_b, user_id)


async def _open_match(session: AsyncSession, user_id: uuid.UUID, match_id: uuid.UUID) -> tuple[MatchRow, uuid.UUID]:
    match = await _member_match(session, user_id, match_id)
    return match, _ensure_open(user_id, match)


async def _open_match_and_message(session: AsyncSession, user_id: uuid.UUID, match_id: uuid.UUID,
                                  message_id: uuid.UUID) -> tuple[MatchRow, StoredMessage | None]:
    """``_open_match`` and the match's message ``message_id`` (None if it has no such message), one round trip."""
    found = await repo.member_match_with_message(session, match_id, user_id, message_id)
    if found is None:
        raise NotFound("no such match")
    match, message = found
    _ensure_open(user_id, match)
    return match, message


async def send(session: AsyncSession, events: EventLog, sender_id: uuid.UUID, match_id: uuid.UUID,
               body: str, client_msg_id: str, words: WordList = NO_WORDS) -> SendReply:
    """Store a message once per ``client_msg_id`` and tell both members' devices; a retry returns the same one.

    A new message is checked against the content filter's ``words`` (``content_blocked`` stores nothing) and
    carries contact shielding's ``safety`` flags in the match's first 24 hours (docs/safety.md).
    """
    rules.check_body(body)
    rules.check_client_msg_id(client_msg_id)
    # the match lock serialises senders of this match (and holds off unmatch/block) until commit; the
    # message stored under the key, if this is a retry, comes in the same round trip
    found = await repo.senders_match(session, match_id, sender_id, client_msg_id)
    if found is None:
        raise NotFound("no such match")
    match, stored = found
    if stored is None:
        _ensure_open(sender_id, match)
        stored = await _store_new(session, events, match, sender_id, body, client_msg_id, words)
        if stored is not None:
            await _announce(session, events, match, stored)
            return {"message": message_view(stored)}
        # the same key was stored meanwhile: by a send into another match, or by a retry into this one that
        # committed while the lock was awaited (the first read did not see it)
        stored = await repo.own_message(session, sender_id, client_msg_id)
        if stored is None:
            raise RuntimeError("the conflicting message vanished")
    # a retry: the stored message as it was, no second event (even if the match closed since)
    rules.check_retry(stored.match_id, stored.body, match_id, body)
    return {"message": message_view(stored)}


async def _store_new(session: AsyncSession, events: EventLog, match: MatchRow, sender_id: uuid.UUID, body: str,
                     client_msg_id: str, words: WordList) -> StoredMessage | None:
    """Screen and store a new message (None if the key was taken meanwhile); file what the filters found."""
    hits = screen.check(words, {"body": body})
    safety = shielding.flags_for(body, match.matched_at, datetime.now(UTC))
    stored = await repo.insert_message(session, match.id, sender_id, body, client_msg_id, safety)
    if stored is not None:
        await screen.file_flags(session, events, sender_id, hits)
        if stored.safety:
            await shielding.watch_sender(session, events, sender_id)
    return stored


async def _announce(session: AsyncSession, events: EventLog, match: MatchRow, message: StoredMessage) -> None:
    if match.state == rules.REACTIVATED_BY_MESSAGE:
        # the state machine is social's: archived -> active, match.updated to both members before the message
        await matches.reactivate_on_message(session, events, match.id, message.sender_id)
    members = (match.user_a, match.user_b)  # ascending, as social appends: event-counter locks cannot deadlock
    data: MessageCreated = {"message": message_view(message)}
    await events.append_many(session, [(member, "message.created", data) for member in members])


async def history(session: AsyncSession, user_id: uuid.UUID, match_id: uuid.UUID, before: uuid.UUID | None,
                  limit: int = rules.HISTORY_DEFAULT_LIMIT, read: AsyncSession | None = None) -> HistoryReply:
    """One page of the match's messages, newest first; ``next_before`` continues it (null at the start).

    With ``read`` (a read replica session) the page is read there and may lag; whether the caller may read
    this match, and the ``before`` message (which may have just arrived as an event), come from ``session``.
    """
    rules.check_limit(limit)
    cursor = None
    if before is None:
        await _open_match(session, user_id, match_id)
    else:
        _, cursor = await _open_match_and_message(session, user_id, match_id, before)
        if cursor is None:
            raise NotFound("no such message in this match")
    page = await repo.history(read or session, match_id, cursor, limit + 1)
    more = len(page) > limit
    page = page[:limit]
    return {"messages": [message_view(m) for m in page],
            "next_before": str(page[-1].id) if more else None}


class TypingGate(Protocol):
    """Admits at most one typing event per user and match per interval (``infra.typing_throttle``)."""

    async def admit(self, user_id: uuid.UUID, match_id: uuid.UUID) -> bool: ...


async def typing(fetch: Fetch, events: EventLog, throttle: TypingGate, user_id: uuid.UUID,
                 match_id: uuid.UUID) -> Empty:
    """Tell the other member (only) that ``user_id`` is typing; extras within the interval are dropped. ``fetch``
    runs the membership check alone (``ReadSessions.fetch_alone``): one statement, no session around it."""
    match = await repo.member_match_alone(fetch, match_id, user_id)
    if match is None:
        raise NotFound("no such match")
    other = _ensure_open(user_id, match)
    if await throttle.admit(user_id, match_id):
        typing_data: Typing = {"match_id": str(match_id), "user_id": str(user_id)}
        await events.ephemeral([other], "typing", typing_data)
    return {}
