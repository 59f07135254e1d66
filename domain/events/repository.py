"""SQL for the per-user durable event log."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from domain.raw_statements import RawStatement

# The counter row is locked until commit, so seq values of one user are assigned in commit order:
# if seq n is committed, every seq below n is committed too (delivery relies on this to fill gaps).
_NEXT_SEQ = (
    "INSERT INTO user_event_counters (user_id, last_seq) VALUES (:user_id, 1) "
    "ON CONFLICT (user_id) DO UPDATE SET last_seq = user_event_counters.last_seq + 1 "
    "RETURNING last_seq"
)


# One round trip for the hot path: take the next seq and store the event in the same statement, past
# SQLAlchemy's per-statement path (every durable event; domain/raw_statements.py).
_APPEND = RawStatement(
    "WITH next AS (" + _NEXT_SEQ + ") "  # noqa: S608 - constant SQL, values are bound
    "INSERT INTO user_events (user_id, seq, type, payload) "
    "SELECT :user_id, next.last_seq, :type, CAST(:payload AS jsonb) FROM next RETURNING seq"
)


async def append(session: AsyncSession, user_id: uuid.UUID, event_type: str, payload_json: str) -> int:
    """Store an event with the user's next seq (race-free, see ``_NEXT_SEQ``); return the seq."""
    [row] = await _APPEND.fetch(session, {"user_id": user_id, "type": event_type, "payload": payload_json})
    return int(row[0])


# Several users' events in one round trip: each user's counter row is bumped once, in the order given
# (callers pass ascending user ids, the lock order used everywhere), and each event stored with its seq.
APPEND_MANY = RawStatement(
    "WITH next AS ("
    "INSERT INTO user_event_counters (user_id, last_seq) "
    "SELECT u, 1 FROM unnest(CAST(:user_ids AS uuid[])) WITH ORDINALITY AS t(u, n) ORDER BY n "
    "ON CONFLICT (user_id) DO UPDATE SET last_seq = user_event_counters.last_seq + 1 "
    "RETURNING user_id, last_seq) "
    "INSERT INTO user_events (user_id, seq, type, payload) "
    "SELECT next.user_id, next.last_seq, e.type, CAST(e.payload AS jsonb) FROM next "
    "JOIN unnest(CAST(:user_ids AS uuid[]), CAST(:types AS text[]), CAST(:payloads AS text[])) "
    "AS e(user_id, type, payload) ON e.user_id = next.user_id "
    "RETURNING user_id, seq"
)


async def append_many(session: AsyncSession, events: Sequence[tuple[uuid.UUID, str, str]]) -> list[int]:
    """Store one event for each of several distinct users in one statement; their seqs, in the given order."""
    users = [user_id for user_id, _, _ in events]
    if len(set(users)) != len(users):
        raise ValueError("append_many takes at most one event per user")
    rows = await APPEND_MANY.fetch(session, {
        "user_ids": users, "types": [t for _, t, _ in events], "payloads": [p for _, _, p in events]})
    seqs = {row[0]: int(row[1]) for row in rows}
    return [seqs[user_id] for user_id in users]
