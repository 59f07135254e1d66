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
from collections.abc import Sequence
from typing import Protocol

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError, ResponseError

from domain.background import cancel_and_wait
from domain.batch_connection import BatchConnection
from domain.coalescing import Coalescer
from domain.events import wire
from domain.events.log import EventLog
from domain.presence import partner_ids_of
from infra.redis_cluster import REDIS_ERRORS, is_cluster
from infra.redis_commands import Commands, RedisPyCommands

log = logging.getLogger("realtime.presence")

REFRESH_CHUNK = 200  # users per refresh round trip, so that building one never blocks the loop for long

# KEYS: the user's sockets, the index; ARGV: the new socket, now, its expiry, the user. Returns the user's live
# sockets. One command per connect (a MULTI of four was six to pack and parse: a fifth of a reconnect's CPU), and
# the sockets that connect at about the same time send theirs in one pipeline (``Presence._run_many``)
_CONNECT_LUA = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
local count = redis.call('ZCARD', KEYS[1])
redis.call('ZADD', KEYS[2], 'GT', ARGV[3], ARGV[4])
return count
"""

# KEYS: the user's sockets, the index; ARGV: the closing socket, now, the user. Returns the sockets left.
_DISCONNECT_LUA = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local left = redis.call('ZCARD', KEYS[1])
if left == 0 then redis.call('ZREM', KEYS[2], ARGV[3]) end
return left
"""


# KEYS: users' socket sets, then the index they are in; ARGV: the new expiry, then per user: the user, how many
# sockets, the sockets. Pushes every socket's expiry and the users' entries in the index forward: one command per
# chunk of users (one ZADD per user in a pipeline cost ~30 us of the node's CPU per user to pack and parse)
_REFRESH_LUA = """
local expiry, at, index = ARGV[1], 2, KEYS[#KEYS]
for i = 1, #KEYS - 1 do
  local user, n = ARGV[at], tonumber(ARGV[at + 1])
  for j = 1, n do redis.call('ZADD', KEYS[i], expiry, ARGV[at + 1 + j]) end
  redis.call('ZADD', index, 'GT', expiry, user)
  at = at + 2 + n
end
return #KEYS - 1
"""


_Call = tuple[tuple[str, ...], tuple[str | float, ...]]  # a presence script's keys and arguments


def _no_script(reply: object) -> bool:
    """The reply says the server does not hold the script (redis-py names the error; the lean channel keeps
    Redis's ``NOSCRIPT`` prefix)."""
    return isinstance(reply, NoScriptError) or (isinstance(reply, ResponseError) and str(reply).startswith("NOSCRIPT"))


class Socket(Protocol):
    """What presence reads of a socket: whose it is and which one."""

    @property
    def user_key(self) -> str: ...

    @property
    def session_id(self) -> uuid.UUID: ...


class Presence:
    """Tracks this node's sockets in Redis and announces transitions."""

    def __init__(self, redis: aioredis.Redis, prefix: str, events: EventLog, reads: BatchConnection,
                 ttl_s: float = 60.0, commands: Commands | None = None) -> None:
        self.redis = redis
        # the scripts of sockets coming and going (and the refresh) go out on the command channel: on a single
        # Redis the node's lean pipelined connection, not redis-py's pipeline (7 % of a connect's CPU)
        self.commands = commands if commands is not None else RedisPyCommands(redis)
        self.prefix = prefix
        self.events = events
        self.reads = reads  # the partners' query of sockets coming and going together (primary, autocommit)
        self.ttl_s = ttl_s
        self.node = uuid.uuid4().hex[:12]
        self._local: dict[str, set[str]] = {}  # user id -> session ids on this node
        self._task: asyncio.Task[None] | None = None
        self._connect = redis.register_script(_CONNECT_LUA)
        self._disconnect = redis.register_script(_DISCONNECT_LUA)
        self._refresh_script = redis.register_script(_REFRESH_LUA)
        # on a Redis Cluster a user's keys and their index share a partition's hash tag (one slot), so the
        # scripts below stay atomic; the index is then split into ``wire.PARTITIONS`` parts
        self._sharded = is_cluster(redis)
        # the partners of users coming and going at about the same time, in one query (a reconnect storm)
        self._partners: Coalescer[uuid.UUID, list[uuid.UUID]] = Coalescer(self._partners_of)
        # and their scripts, one pipeline per batch: (keys, args) -> the script's answer
        self._joins: Coalescer[_Call, int] = Coalescer(lambda calls: self._run_many(self._connect, calls))
        self._leaves: Coalescer[_Call, int] = Coalescer(lambda calls: self._run_many(self._disconnect, calls))

    def _key(self, user: str) -> str:
        if self._sharded:
            return f"{self.prefix}pres:{{{wire.partition(user)}}}:{user}"
        return f"{self.prefix}pres:{user}"

    def _index_of(self, user: str) -> str:
        """The index holding ``user``: one on a single Redis; on a cluster one per partition, in the user's slot."""
        if self._sharded:
            return f"{self.prefix}pres:{{{wire.partition(user)}}}:index"
        return f"{self.prefix}pres:index"

    @property
    def _indexes(self) -> list[str]:
        if self._sharded:
            return [f"{self.prefix}pres:{{{p}}}:index" for p in range(wire.PARTITIONS)]
        return [f"{self.prefix}pres:index"]

    async def start(self) -> None:
        self._task = asyncio.create_task(self._refresh_loop(), name="presence")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)

    async def connected(self, conn: Socket) -> None:
        """Count the socket; announce ``online`` if it is the user's first live one anywhere."""
        user, member = conn.user_key, f"{self.node}:{conn.session_id}"
        self._local.setdefault(user, set()).add(str(conn.session_id))
        now, keys = time.time(), (self._key(user), self._index_of(user))
        try:
            count = await self._joins.get((keys, (member, now, now + self.ttl_s, user)))
        except REDIS_ERRORS as exc:
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
            count = await self._leaves.get(((self._key(user), self._index_of(user)), (member, time.time(), user)))
        except REDIS_ERRORS as exc:
            log.warning("presence unavailable (%s)", type(exc).__name__)
            return
        if count == 0:
            await self._announce(user, online=False)

    async def _run_many(self, script: AsyncScript, calls: Sequence[_Call]) -> list[int]:
        """``script`` once per call, all written together on the command channel (EVALSHA; on a cluster each goes
        to its slot's master). A call whose script the server does not hold (a restarted or promoted Redis) runs
        again on its own through redis-py, which loads it."""
        results = await self.commands.call_many(
            [("EVALSHA", script.sha, len(keys), *keys, *args) for keys, args in calls], raise_on_error=False)
        answers: list[int] = []
        for (keys, args), result in zip(calls, results, strict=True):
            if _no_script(result):
                result = await script(keys=list(keys), args=list(args))
            elif isinstance(result, Exception):
                raise result
            answers.append(int(result))
        return answers

    async def online_count(self) -> int | None:
        """How many people have a live socket on any node (one ZCOUNT; on a cluster one per partition, pipelined);
        None when Redis is unavailable."""
        try:
            now = time.time()
            if not self._sharded:
                return int(await self.redis.zcount(self._indexes[0], now, "+inf"))
            async with self.redis.pipeline(transaction=False) as pipe:
                for index in self._indexes:
                    pipe.zcount(index, now, "+inf")
                return sum(int(n) for n in await pipe.execute())
        except REDIS_ERRORS as exc:
            log.warning("presence unavailable (%s)", type(exc).__name__)
            return None

    async def is_online(self, user: str) -> bool:
        """True if the user has a live socket on any node."""
        return bool(await self.redis.zcount(self._key(user), time.time(), "+inf"))

    async def _announce(self, user: str, *, online: bool) -> None:
        try:
            partners = await self._partners.get(uuid.UUID(user))
        except Exception as exc:
            log.warning("presence: partners unavailable (%s)", type(exc).__name__)
            return
        if partners:
            await self.events.ephemeral(partners, "presence", {"user_id": user, "online": online})

    async def _partners_of(self, users: Sequence[uuid.UUID]) -> list[list[uuid.UUID]]:
        found = await partner_ids_of(self.reads, users)
        return [found[user] for user in users]

    async def _refresh_loop(self) -> None:
        interval = self.ttl_s / 3
        while True:
            await asyncio.sleep(interval)
            try:
                await self._refresh()
                await self._sweep()
            except REDIS_ERRORS as exc:
                log.warning("presence refresh failed (%s)", type(exc).__name__)

    async def _refresh(self) -> None:
        """Push every local socket's expiry forward, ``REFRESH_CHUNK`` users per round trip.

        A chunk is one refresh script per index its users are in (one on a single Redis; on a cluster one per
        partition, the script's keys sharing its slot), pipelined. Chunks keep each block of the event loop
        short, and a chunk reads ``_local`` when it is built, so a socket that closed meanwhile is not brought
        back.
        """
        users = list(self._local)
        for start in range(0, len(users), REFRESH_CHUNK):
            expiry = time.time() + self.ttl_s
            calls: dict[str, tuple[list[str], list[str | float]]] = {}  # index -> its users' keys, the arguments
            for user in users[start:start + REFRESH_CHUNK]:
                sessions = self._local.get(user)
                if sessions:
                    keys, args = calls.setdefault(self._index_of(user), ([], [expiry]))
                    keys.append(self._key(user))
                    args += [user, len(sessions), *(f"{self.node}:{s}" for s in sessions)]
            if calls:
                await self._run_many(self._refresh_script,
                                     [((*keys, index), tuple(args)) for index, (keys, args) in calls.items()])

    async def _sweep(self) -> None:
        """Turn offline the users whose every socket expired (their node died)."""
        if not await self.redis.set(f"{self.prefix}pres:sweeper", self.node, nx=True, ex=max(1, int(self.ttl_s / 3))):
            return
        now = time.time()
        for index in self._indexes:
            await self._sweep_index(index, now)

    async def _sweep_index(self, index: str, now: float) -> None:
        stale = await self.redis.zrangebyscore(index, "-inf", now)
        for raw in stale:
            user = raw.decode() if isinstance(raw, bytes) else str(raw)
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.zremrangebyscore(self._key(user), "-inf", now)
                pipe.zcard(self._key(user))
                _, count = await pipe.execute()
            if count == 0 and await self.redis.zrem(index, user):
                await self._announce(user, online=False)
