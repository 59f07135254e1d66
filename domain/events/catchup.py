"""Reads of the durable event log for sockets that connect, resume or sync together: one query per batch.

A socket that connects needs its user's stream position (the ``last_seq`` of hello) and, when it resumes
(``last_seq`` at connect), the events after the client's seq; a ``sync`` or a gap needs the events after
a seq. ``CatchUpReader`` answers all of these for every socket that asks at about the same time with one
statement (``domain.coalescing``): a reconnect storm of thousands of sockets costs a few queries, not
one or two per socket. Position and events come from the same snapshot, so the events returned are
exactly those up to the position (at most ``limit`` of them).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from domain.batch_connection import BatchConnection
from domain.coalescing import Coalescer
from domain.events import wire
from domain.raw_statements import RawStatement

MAX_SEQ = 2**63 - 1  # PostgreSQL's bigint

# One row per event, or one row without an event for a reader that missed nothing (or asked no events):
# ``k`` is the reader's place in the batch, ``head`` its user's position.
_READ = RawStatement(
    "SELECT r.k, COALESCE(c.last_seq, 0) AS head, e.seq, e.type, e.payload "
    "FROM unnest(CAST(:users AS uuid[]), CAST(:afters AS bigint[]), CAST(:up_tos AS bigint[]), "
    "CAST(:limits AS int[])) WITH ORDINALITY AS r(user_id, after, up_to, lim, k) "
    "LEFT JOIN user_event_counters c ON c.user_id = r.user_id "
    "LEFT JOIN LATERAL (SELECT ue.seq, ue.type, ue.payload FROM user_events ue "
    "WHERE ue.user_id = r.user_id AND ue.seq > r.after AND (r.up_to IS NULL OR ue.seq <= r.up_to) "
    "ORDER BY ue.seq LIMIT r.lim) e ON true "
    "ORDER BY r.k, e.seq"
)


@dataclass(frozen=True, slots=True)
class Read:
    """What one socket asks: ``user``'s position, and its events after ``after`` (None: no events)."""

    user: uuid.UUID
    after: int | None
    limit: int
    up_to: int | None = None


@dataclass(frozen=True, slots=True)
class Position:
    """A user's stream position and the stored events asked for, as ``(seq, frame)``, oldest first."""

    head: int
    events: list[tuple[int, str]]


class CatchUpReader:
    """Stream positions and stored events for many sockets at once (one statement per batch)."""

    def __init__(self, connection: BatchConnection, max_batch: int = 500) -> None:
        self._connection = connection
        self._reads: Coalescer[Read, Position] = Coalescer(self._fetch, max_batch)

    @property
    def queries(self) -> int:
        """Statements run so far (each answered a batch)."""
        return self._reads.batches

    async def position(self, user: uuid.UUID, after: int | None, limit: int) -> Position:
        """``user``'s head, and when ``after`` is given the first ``limit`` events after it."""
        return await self._reads.get(Read(user, after, limit))

    async def replay(self, user: uuid.UUID, after: int, limit: int, up_to: int | None = None) -> list[tuple[int, str]]:
        """Stored events after ``after`` (to ``up_to``) as ``(seq, frame)``, oldest first, at most ``limit``."""
        return (await self._reads.get(Read(user, after, limit, up_to))).events

    async def _fetch(self, reads: Sequence[Read]) -> list[Position]:
        # a client's last_seq may be any whole number: beyond bigint it would fail the batch of everyone
        params = {"users": [r.user for r in reads], "afters": [_seq(r.after) for r in reads],
                  "up_tos": [_seq(r.up_to) for r in reads], "limits": [r.limit for r in reads]}
        rows = await self._connection.fetch(_READ, params)
        heads = [0] * len(reads)
        events: list[list[tuple[int, str]]] = [[] for _ in reads]
        for k, head, seq, event_type, payload in rows:
            heads[k - 1] = int(head)
            if seq is not None:
                events[k - 1].append((int(seq), wire.frame(event_type, payload, int(seq))))
        return [Position(head, found) for head, found in zip(heads, events, strict=True)]


def _seq(value: int | None) -> int | None:
    return None if value is None else min(value, MAX_SEQ)
