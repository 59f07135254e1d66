"""The per-user durable event stream: store first, publish after commit.

``append`` writes the event in the caller's transaction with the user's next
``seq`` and publishes it only once that transaction commits (dropped on
rollback). ``ephemeral`` publishes at once and stores nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from domain.events import repository as repo
from domain.events import wire
from domain.transaction import after_commit


class Publisher(Protocol):
    """Fans messages out to every node (``infra.redis_publisher.RedisPublisher``); never raises."""

    async def publish(self, channel: str, message: bytes) -> None: ...

    async def publish_many(self, messages: list[tuple[str, bytes]]) -> None: ...


class EventLog:
    """Durable and ephemeral events for users, fanned out through ``publisher``."""

    def __init__(self, publisher: Publisher, prefix: str) -> None:
        self.publisher = publisher
        self.prefix = prefix

    def channel(self, user_id: uuid.UUID | str) -> str:
        return wire.user_channel(self.prefix, user_id)

    async def append(self, session: AsyncSession, user_id: uuid.UUID, event_type: str,
                     data: Mapping[str, Any]) -> int:
        """Store a durable event for ``user_id``; it is published after commit. Returns its seq."""
        data_json = wire.dumps(data)
        seq = await repo.append(session, user_id, event_type, data_json)
        channel, message = self._durable(user_id, event_type, data_json, seq)

        async def publish() -> None:
            await self.publisher.publish(channel, message)

        after_commit(session, publish)
        return seq

    async def append_many(self, session: AsyncSession, events: Sequence[tuple[uuid.UUID, str, Mapping[str, Any]]],
                          ) -> list[int]:
        """``append`` for several events in one round trip to PostgreSQL and, after commit, one to Redis.

        Events for the same user (or a single event) are appended one by one, in order; distinct users
        are written in one statement, their counters locked in the order given (ascending user ids, as
        everywhere, so that two such transactions cannot deadlock).
        """
        users = [user_id for user_id, _, _ in events]
        if len(events) < 2 or len(set(users)) != len(users):
            return [await self.append(session, u, t, d) for u, t, d in events]
        encoded = [(u, t, wire.dumps(d)) for u, t, d in events]
        seqs = await repo.append_many(session, encoded)
        messages = [self._durable(u, t, data_json, seq) for (u, t, data_json), seq in zip(encoded, seqs, strict=True)]

        async def publish() -> None:
            await self.publisher.publish_many(messages)

        after_commit(session, publish)
        return seqs

    async def publish_appended(self, events: Sequence[tuple[uuid.UUID, str, str, int]]) -> None:
        """Publish events a committed statement appended (``(user, type, payload JSON, seq)``): a server-side
        function that stored them in its own transaction, as ``delete_send_message`` does."""
        await self.publisher.publish_many([self._durable(u, t, data_json, seq) for u, t, data_json, seq in events])

    def _durable(self, user_id: uuid.UUID, event_type: str, data_json: str, seq: int) -> tuple[str, bytes]:
        """The hub message of a stored event and the channel it goes to."""
        return self.channel(user_id), wire.durable(seq, wire.frame_from_json(event_type, data_json, seq))

    async def ephemeral(self, user_ids: Sequence[uuid.UUID], event_type: str, data: Mapping[str, Any]) -> None:
        """Publish a non-durable event (no seq) to every device of each user."""
        message = wire.ephemeral(wire.frame(event_type, data))
        await self.publisher.publish_many([(self.channel(u), message) for u in user_ids])

    async def to_moderators(self, event_type: str, data: Mapping[str, Any]) -> None:
        """Publish an ephemeral event to every subscribed moderator dashboard."""
        await self.publisher.publish(wire.moderators_channel(self.prefix),
                                     wire.ephemeral(wire.frame(event_type, data)))

    async def to_photo_reviewers(self, event_type: str, data: Mapping[str, Any]) -> None:
        """Publish an ephemeral event to every moderator watching the photo review queue."""
        await self.publisher.publish(wire.photo_reviewers_channel(self.prefix),
                                     wire.ephemeral(wire.frame(event_type, data)))

    async def control(self, user_id: uuid.UUID, op: str, **fields: Any) -> None:
        """Tell every node holding sockets of ``user_id`` to act on them (close, revoke a login)."""
        await self.publisher.publish(self.channel(user_id), wire.control(op, **fields))

    def control_after_commit(self, session: AsyncSession, user_id: uuid.UUID, op: str, **fields: Any) -> None:
        """``control`` once the session's transaction has committed."""

        async def send() -> None:
            await self.control(user_id, op, **fields)

        after_commit(session, send)
