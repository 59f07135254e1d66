"""The systems the realtime benchmark compares: our nodes (events stored, then published after commit),
our nodes fed straight on Redis (a diagnostic), and the bare floor relays; each says where a client
connects and how one event is produced."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.events import wire
from domain.events.log import EventLog
from domain.transaction import after_commit, unit_of_work
from infra.redis_cluster import is_cluster
from infra.redis_publisher import RedisPublisher

EVENT_TYPE = "bench.event"
SERVER_PREFIX = "delete:"  # the Redis prefix of `delete-api serve`


# -- the systems under test ----------------------------------------------------------------------------

class System(Protocol):
    name: str
    pids: list[int]  # nodes A, B, C

    def socket(self, node: int, user: int) -> tuple[str, dict[str, str]]: ...
    async def emit(self, user: int, i: int) -> None: ...


class Ours:
    """``delete-api serve`` nodes; events stored by ``EventLog.append`` and published after commit."""

    name = "delete"

    def __init__(self, ports: list[int], pids: list[int], users: list[tuple[uuid.UUID, str]],
                 sessions: async_sessionmaker[AsyncSession], redis: aioredis.Redis) -> None:
        self.ports, self.pids, self.users, self.sessions = ports, pids, users, sessions
        self.log = EventLog(RedisPublisher(redis), SERVER_PREFIX)
        self.committed: dict[int, int] = {}  # event -> when its transaction committed (just before PUBLISH)

    def socket(self, node: int, user: int) -> tuple[str, dict[str, str]]:
        return f"ws://127.0.0.1:{self.ports[node]}/v1/ws", {"Authorization": f"Bearer {self.users[user][1]}"}

    async def emit(self, user: int, i: int) -> None:
        t = time.time_ns()
        async with unit_of_work(self.sessions) as session:
            after_commit(session, self._commit_clock(i))  # registered first, so it runs before the publish
            await self.log.append(session, self.users[user][0], EVENT_TYPE, {"t": t, "i": i})

    def _commit_clock(self, i: int) -> Callable[[], Coroutine[Any, Any, None]]:
        async def committed() -> None:
            self.committed[i] = time.time_ns()

        return committed


class RelayOnly:
    """Diagnostic: our nodes fed durable messages straight on Redis, nothing stored.

    Each user's seq continues from its stored counter, in order, so a node delivers without reading
    PostgreSQL: what is measured is the node's own cost (hub, outbox, writer, frame).
    """

    name = "delete_relay_only"

    def __init__(self, ours: Ours, redis: aioredis.Redis, last_seq: dict[uuid.UUID, int]) -> None:
        self.ours, self.pids, self.redis = ours, ours.pids, redis
        self.seq = [last_seq.get(user_id, 0) for user_id, _ in ours.users]

    def socket(self, node: int, user: int) -> tuple[str, dict[str, str]]:
        return self.ours.socket(node, user)

    async def emit(self, user: int, i: int) -> None:
        t = time.time_ns()
        self.seq[user] += 1
        seq = self.seq[user]
        channel = wire.user_channel(SERVER_PREFIX, self.ours.users[user][0])
        message = wire.durable(seq, wire.frame(EVENT_TYPE, {"t": t, "i": i}, seq))
        if is_cluster(self.redis):
            await self.redis.spublish(channel, message)
        else:
            await self.redis.publish(channel, message)


class Floor:
    """The bare relays; an event is one PUBLISH of the same frame text."""

    name = "floor"

    def __init__(self, ports: list[int], pids: list[int], redis: aioredis.Redis) -> None:
        self.ports, self.pids, self.redis = ports, pids, redis

    def socket(self, node: int, user: int) -> tuple[str, dict[str, str]]:
        return f"ws://127.0.0.1:{self.ports[node]}/c/{user}", {}

    async def emit(self, user: int, i: int) -> None:
        t = time.time_ns()
        await self.redis.publish(f"floor:{user}", wire.frame(EVENT_TYPE, {"t": t, "i": i}, seq=i))
