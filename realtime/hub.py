"""The process's single Redis subscription, handing messages to local sockets.

One dedicated Redis connection subscribes to the per-user channel of every
user with a socket on this node, plus the moderators' two channels (the
report queue and photo review) and any
node-wide broadcast channel a feature registered with ``on_broadcast`` (the
discovery channel, whose messages go to one callback per node). The listener
hands each message to the matching sockets with a non-blocking push and
never waits on a slow one (each socket has a bounded outbox and closes
itself when it overflows). When Redis goes away the listener reconnects with
back-off, resubscribes everything, and asks every local socket to catch up
from PostgreSQL, so events published meanwhile are not lost.

On a Redis Cluster the subscription is ``infra.redis_cluster.ShardedPubSub`` (SSUBSCRIBE, one connection
per shard); it ends with an error on any topology change (failover, slot migration), which this listener
handles like an outage: reconnect, resubscribe everything, catch up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from collections.abc import Set as AbstractSet
from typing import Any, Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from domain.background import cancel_and_wait
from domain.coalescing import Coalescer
from domain.events import wire
from infra import metrics

log = logging.getLogger("realtime.hub")

SUBSCRIBE_WAIT_S = 3.0
BACKOFF_MAX_S = 2.0

BroadcastCallback = Callable[[wire.Kind, str], None]


class Subscriber(Protocol):
    """What the hub needs of a socket."""

    user_key: str

    def on_message(self, kind: wire.Kind, seq: int, payload: str, published_ms: int | None) -> None: ...
    def on_resubscribed(self) -> None: ...


class PubSubSource(Protocol):
    """Where the subscription comes from: a Redis client, or a cluster's ``infra.redis_cluster.ShardedSource``."""

    def pubsub(self, **kwargs: Any) -> Any: ...
    async def aclose(self) -> None: ...


class Hub:
    """Routes Redis messages to the sockets of this process."""

    def __init__(self, redis_factory: Callable[[], PubSubSource], prefix: str) -> None:
        self._redis_factory = redis_factory
        self.prefix = prefix
        self.moderators_channel = wire.moderators_channel(prefix)
        self._by_channel: dict[str, set[Subscriber]] = {}
        self._moderators: set[Subscriber] = set()
        self.photo_reviewers_channel = wire.photo_reviewers_channel(prefix)
        self._photo_reviewers: set[Subscriber] = set()
        self._broadcasts: dict[str, list[BroadcastCallback]] = {}
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._subscribes: Coalescer[str, None] = Coalescer(self._subscribe_many)  # a reconnect storm's joins
        self._unsubscribes: Coalescer[str, None] = Coalescer(self._unsubscribe_many)  # and a shutdown's leaves
        self._redis: PubSubSource | None = None
        self._pubsub: aioredis.client.PubSub | None = None
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self.reconnects = 0
        self.dropped = 0

    # -- lifecycle -----------------------------------------------------------
    async def start(self) -> None:
        """Start listening (returns at once; the subscription connects in the background)."""
        self._task = asyncio.create_task(self._run(), name="hub-listener")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        await self._disconnect()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def local_sockets(self) -> int:
        return sum(len(s) for s in self._by_channel.values())

    # -- membership -------------------------------------------------------------
    def channel_for(self, user_key: str) -> str:
        return wire.user_channel(self.prefix, user_key)

    async def join(self, sub: Subscriber) -> None:
        """Route the user's channel to ``sub``; waits (briefly) until Redis confirmed the subscription."""
        channel = self.channel_for(sub.user_key)
        members = self._by_channel.get(channel)
        if members:
            members.add(sub)
            return
        self._by_channel[channel] = {sub}
        metrics.users_online.set(len(self._by_channel))
        if not self.connected or self._pubsub is None:
            return  # subscribed on reconnect; the socket catches up then
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(channel, []).append(waiter)
        try:
            await self._subscribes.get(channel)  # one SUBSCRIBE for the users connecting meanwhile
            async with asyncio.timeout(SUBSCRIBE_WAIT_S):  # a waiter given up on is cancelled: resolving skips it
                await waiter
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("subscribe %s not confirmed (%s); the socket will catch up", channel, type(exc).__name__)

    async def _unsubscribe_many(self, channels: Sequence[str]) -> list[None]:
        """UNSUBSCRIBE those of ``channels`` that no socket joined again meanwhile (a node's shutdown, a storm)."""
        gone = [channel for channel in channels if channel not in self._by_channel]
        pubsub = self._pubsub
        if gone and pubsub is not None and self.connected:
            await pubsub.unsubscribe(*gone)
        return [None] * len(channels)

    async def _subscribe_many(self, channels: Sequence[str]) -> list[None]:
        """SUBSCRIBE ``channels`` at once; without a live subscription the next (re)connect subscribes them."""
        pubsub = self._pubsub
        if pubsub is not None and self.connected:
            await pubsub.subscribe(*channels)
        return [None] * len(channels)

    async def leave(self, sub: Subscriber) -> None:
        """Stop routing to ``sub``; unsubscribe when it was the user's last socket here."""
        self._moderators.discard(sub)
        self._photo_reviewers.discard(sub)
        channel = self.channel_for(sub.user_key)
        members = self._by_channel.get(channel)
        if members is None:
            return
        members.discard(sub)
        if members:
            return
        del self._by_channel[channel]
        metrics.users_online.set(len(self._by_channel))
        if self.connected and self._pubsub is not None:
            try:
                await self._unsubscribes.get(channel)  # one UNSUBSCRIBE for the users leaving meanwhile
            except (RedisError, OSError):
                pass  # a reconnect subscribes only to current channels

    def join_moderators(self, sub: Subscriber) -> None:
        """Send the moderators' feed to ``sub``."""
        self._moderators.add(sub)

    def join_photo_reviewers(self, sub: Subscriber) -> None:
        """Send the photo review queue's feed to ``sub``."""
        self._photo_reviewers.add(sub)

    def sockets_of(self, user_key: str) -> set[Subscriber]:
        return set(self._by_channel.get(self.channel_for(user_key), ()))

    async def on_broadcast(self, channel: str, callback: BroadcastCallback) -> None:
        """Also listen to the node-wide ``channel`` and hand its messages to ``callback``.

        The callback runs inside the listener, so it must not block (queue the work).
        Waits (briefly) until Redis confirmed the subscription, as ``join`` does.
        """
        callbacks = self._broadcasts.setdefault(channel, [])
        callbacks.append(callback)
        if len(callbacks) > 1 or not self.connected or self._pubsub is None:
            return  # already subscribed, or subscribed on (re)connect
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(channel, []).append(waiter)
        try:
            await self._pubsub.subscribe(channel)
            async with asyncio.timeout(SUBSCRIBE_WAIT_S):
                await waiter
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("subscribe %s not confirmed (%s)", channel, type(exc).__name__)

    # -- listener -----------------------------------------------------------
    async def _run(self) -> None:
        backoff = 0.05
        first = True
        while True:
            try:
                await self._connect()
                if not first:
                    self.reconnects += 1
                    metrics.redis_resubscribes.inc()
                    log.info("Redis subscription restored (%d channels); local sockets catch up",
                             len(self._by_channel))
                # also on the first connect: sockets that joined while Redis was away may have missed events
                for members in list(self._by_channel.values()):
                    for sub in list(members):
                        sub.on_resubscribed()
                first = False
                backoff = 0.05
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._connected.is_set():
                    log.warning("Redis subscription lost (%s); reconnecting", type(exc).__name__)
                self._connected.clear()
                await self._disconnect()
                await asyncio.sleep(backoff)
                backoff = min(BACKOFF_MAX_S, backoff * 2)

    async def _connect(self) -> None:
        self._redis = self._redis_factory()
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=False)
        channels = [self.moderators_channel, self.photo_reviewers_channel, *self._broadcasts, *self._by_channel]
        # one SUBSCRIBE for everything; confirmations arrive in order, the last one means all are live
        await self._pubsub.subscribe(*channels)
        remaining = set(channels)
        async with asyncio.timeout(10):
            while remaining:
                message = await self._pubsub.get_message(timeout=1.0)
                if message is None:
                    continue
                if message["type"] == "subscribe":
                    remaining.discard(_text(message["channel"]))
                else:
                    self._dispatch(message)
        self._connected.set()
        self._resolve_waiters(channels)
        late = [c for c in [*self._broadcasts, *self._by_channel] if c not in remaining and c not in channels]
        if late:  # sockets that joined while we were connecting
            await self._pubsub.subscribe(*late)

    async def _listen(self) -> None:
        assert self._pubsub is not None
        pubsub = self._pubsub
        while True:
            message = await pubsub.get_message(timeout=None)
            if message is None:
                continue
            kind = message["type"]
            if kind == "message":
                self._dispatch(message)
            elif kind == "subscribe":
                self._resolve_waiters([_text(message["channel"])])

    def _resolve_waiters(self, channels: list[str]) -> None:
        for channel in channels:
            for waiter in self._waiters.pop(channel, []):
                if not waiter.done():
                    waiter.set_result(None)

    def _dispatch(self, message: dict[str, object]) -> None:
        channel = _text(message["channel"])
        data = message["data"]
        if not isinstance(data, bytes):
            return
        try:
            kind, seq, payload = wire.decode(data)
        except ValueError:
            self.dropped += 1
            return
        callbacks = self._broadcasts.get(channel)
        if callbacks is not None:
            for callback in tuple(callbacks):
                try:
                    callback(kind, payload)
                except Exception:
                    log.exception("broadcast callback for %s failed", channel)
            return
        targets = self._members(channel)
        published = wire.published_ms(data) if kind == "D" else None
        for sub in tuple(targets):
            sub.on_message(kind, seq, payload, published)

    def _members(self, channel: str) -> AbstractSet[Subscriber]:
        if channel == self.moderators_channel:
            return self._moderators
        if channel == self.photo_reviewers_channel:
            return self._photo_reviewers
        return self._by_channel.get(channel, frozenset())

    async def _disconnect(self) -> None:
        pubsub, redis = self._pubsub, self._redis
        self._pubsub = self._redis = None
        if pubsub is not None:
            try:
                close: Callable[[], Awaitable[None]] = pubsub.aclose  # unannotated before redis-py 8.2: typed here
                await close()
            except Exception:  # noqa: S110 - the connection is already broken
                pass
        if redis is not None:
            try:
                await redis.aclose()
            except Exception:  # noqa: S110 - the connection is already broken
                pass


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
