"""Online/offline for matched users, counted over all devices on all nodes, expiring if a node dies.

Redis holds, per user, a sorted set of live sockets (``node:session``) scored
by an expiry time that their node refreshes every ``ttl/3`` seconds, and an
index of users by their latest expiry. A user goes online with their first
live socket anywhere and offline with their last; when a node dies its
sockets simply stop being refreshed, and a sweeper (one node at a time, by a
short Redis lock) turns those users offline once their entries expire.
Presence events are ephemeral and go to the user's match partners.

A user leaves the index when their last socket closes (atomically, by a small
script), so the index counts the people online right now: ``online_count`` is
one ZCOUNT (``moderation.stats``). Sockets of a dead node stay counted until
they expire (at most ``ttl``).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.background import cancel_and_wait
from domain.events.log import EventLog
from domain.presence import partner_ids

log = logging.getLogger("realtime.presence")

REFRESH_CHUNK = 200  # users per refresh pipeline: each one blocks the loop for ~3 ms

# KEYS: the user's sockets, the index; ARGV: the closing socket, now, the user. Returns the sockets left.
_DISCONNECT_LUA = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local left = redis.call('ZCARD', KEYS[1])
if left == 0 then redis.call('ZREM', KEYS[2], ARGV[3]) end
return left
"""


class Socket(Protocol):
    """What presence reads of a socket: whose it is and which one."""

    @property
    def user_key(self) -> str: ...

    @property
    def session_id(self) -> uuid.UUID: ...


class Presence:
    """Tracks this node's sockets in Redis and announces transitions."""

    def __init__(self, redis: aioredis.Redis, prefix: str, events: EventLog,
                 sessions: async_sessionmaker[AsyncSession], ttl_s: float = 60.0) -> None:
        self.redis = redis
        self.prefix = prefix
        self.events = events
        self.sessions = sessions
        self.ttl_s = ttl_s
        self.node = uuid.uuid4().hex[:12]
        self._local: dict[str, set[str]] = {}  # user id -> session ids on this node
        self._task: asyncio.Task[None] | None = None
        self._disconnect = redis.register_script(_DISCONNECT_LUA)

    def _key(self, user: str) -> str:
        return f"{self.prefix}pres:{user}"

    @property
    def _index(self) -> str:
        return f"{self.prefix}pres:index"

    async def start(self) -> None:
        self._task = asyncio.create_task(self._refresh_loop(), name="presence")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)

    async def connected(self, conn: Socket) -> None:
        """Count the socket; announce ``online`` if it is the user's first live one anywhere."""
        user, member = conn.user_key, f"{self.node}:{conn.session_id}"
        self._local.setdefault(user, set()).add(str(conn.session_id))
        now = time.time()
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.zremrangebyscore(self._key(user), "-inf", now)
                pipe.zadd(self._key(user), {member: now + self.ttl_s})
                pipe.zcard(self._key(user))
                pipe.zadd(self._index, {user: now + self.ttl_s}, gt=True)
                _, _, count, _ = await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("presence unavailable (%s)", type(exc).__name__)
            return
        if count == 1:
            await self._announce(user, online=True)

    async def disconnected(self, conn: Socket) -> None:
        """Uncount the socket; announce ``offline`` if no live socket of the user is left."""
        user, member = conn.user_key, f"{self.node}:{conn.session_id}"
        local = self._local.get(user)
        if local is not None:
            local.discard(str(conn.session_id))
            if not local:
                del self._local[user]
        try:
            count = await self._disconnect(keys=[self._key(user), self._index], args=[member, time.time(), user])
        except (RedisError, OSError) as exc:
            log.warning("presence unavailable (%s)", type(exc).__name__)
            return
        if count == 0:
            await self._announce(user, online=False)

    async def online_count(self) -> int | None:
        """How many people have a live socket on any node (one ZCOUNT); None when Redis is unavailable."""
        try:
            return int(await self.redis.zcount(self._index, time.time(), "+inf"))
        except (RedisError, OSError) as exc:
            log.warning("presence unavailable (%s)", type(exc).__name__)
            return None

    async def is_online(self, user: str) -> bool:
        """True if the user has a live socket on any node."""
        return bool(await self.redis.zcount(self._key(user), time.time(), "+inf"))

    async def _announce(self, user: str, *, online: bool) -> None:
        try:
            async with self.sessions() as session:
                partners = await partner_ids(session, uuid.UUID(user))
        except Exception as exc:
            log.warning("presence: partners unavailable (%s)", type(exc).__name__)
            return
        if partners:
            await self.events.ephemeral(partners, "presence", {"user_id": user, "online": online})

    async def _refresh_loop(self) -> None:
        interval = self.ttl_s / 3
        while True:
            await asyncio.sleep(interval)
            try:
                await self._refresh()
                await self._sweep()
            except (RedisError, OSError) as exc:
                log.warning("presence refresh failed (%s)", type(exc).__name__)

    async def _refresh(self) -> None:
        """Push every local socket's expiry forward, ``REFRESH_CHUNK`` users per pipeline.

        Building and parsing one pipeline for every user blocks the event loop for as long as that takes
        (10,000 users: ~140 ms of a 300 ms refresh); chunks keep each block short, and the index gets one
        ZADD per chunk instead of one per user. A chunk reads ``_local`` when it is built, so a socket
        that closed meanwhile is not brought back.
        """
        users = list(self._local)
        for start in range(0, len(users), REFRESH_CHUNK):
            expiry = time.time() + self.ttl_s
            members: dict[str, float] = {}
            async with self.redis.pipeline(transaction=False) as pipe:
                for user in users[start:start + REFRESH_CHUNK]:
                    sessions = self._local.get(user)
                    if sessions:
                        pipe.zadd(self._key(user), {f"{self.node}:{s}": expiry for s in sessions})
                        members[user] = expiry
                if members:
                    pipe.zadd(self._index, members, gt=True)
                    await pipe.execute()

    async def _sweep(self) -> None:
        """Turn offline the users whose every socket expired (their node died)."""
        if not await self.redis.set(f"{self.prefix}pres:sweeper", self.node, nx=True, ex=max(1, int(self.ttl_s / 3))):
            return
        now = time.time()
        stale = await self.redis.zrangebyscore(self._index, "-inf", now)
        for raw in stale:
            user = raw.decode() if isinstance(raw, bytes) else str(raw)
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.zremrangebyscore(self._key(user), "-inf", now)
                pipe.zcard(self._key(user))
                _, count = await pipe.execute()
            if count == 0 and await self.redis.zrem(self._index, user):
                await self._announce(user, online=False)
