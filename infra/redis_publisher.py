"""Publishing hub messages to Redis, with a bounded retry buffer for Redis outages.

Durable events are already committed when they are published, so a failed
publish loses nothing: the message waits in a bounded buffer and is sent
again when Redis answers; past the bound the oldest are dropped and clients
recover them with ``sync`` (or their node's catch-up after it resubscribes).

Messages go through ``Commands``: on a single Redis the lean pipelined channel (``infra.resp_channel``),
else the redis-py client. On a Redis Cluster (a ``RedisCluster`` client) messages go out with SPUBLISH, so
each travels only within the shard that owns its channel's slot; the cluster client follows MOVED replies and
failovers, and what fails meanwhile waits in the same buffer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque

import redis.asyncio as aioredis

from domain.background import cancel_and_wait
from domain.events import wire
from infra import metrics
from infra.redis_cluster import is_cluster
from infra.redis_commands import Commands, RedisPyCommands

log = logging.getLogger("infra.redis_publisher")

RETRY_BUFFER = 10_000
RETRY_INTERVAL_S = 0.5
# Any exception counts as a failed publish, kept for a retry: besides Redis and socket errors,
# redis-py's cluster client can raise RuntimeError or AttributeError when a connection is closed under a
# command (seen under load), and the publisher must never raise to the code that committed the event.


class RedisPublisher:
    """Sends messages to Redis channels; never raises to the caller."""

    def __init__(self, redis: aioredis.Redis, *, retry_buffer: int = RETRY_BUFFER,
                 commands: Commands | None = None) -> None:
        self.redis = redis
        self.commands = commands or RedisPyCommands(redis)
        self.verb = "SPUBLISH" if is_cluster(redis) else "PUBLISH"
        self._pending: deque[tuple[str, bytes]] = deque(maxlen=retry_buffer)
        self._retrying: asyncio.Task[None] | None = None
        self.failures = 0

    async def publish(self, channel: str, message: bytes) -> None:
        """Publish now; on failure keep the message for a retry in the background."""
        message = _published(message)
        if self._pending:
            self._pending.append((channel, message))  # keep order behind what is waiting
            self._ensure_retrying()
            return
        try:
            await self._send(channel, message)
        except Exception as exc:  # any failure (note at RETRY_INTERVAL_S)
            self._failed(exc)
            self._pending.append((channel, message))
            self._ensure_retrying()

    async def _send(self, channel: str, message: bytes) -> None:
        await self.commands.call(self.verb, channel, message)

    def _failed(self, exc: BaseException) -> None:
        self.failures += 1
        metrics.redis_publish_retries.inc()
        log.warning("publish failed (%s); will retry", type(exc).__name__)

    async def publish_many(self, messages: list[tuple[str, bytes]]) -> None:
        """Publish several messages in one round trip (falls back to the retry buffer)."""
        if self._pending or len(messages) == 1:
            for channel, message in messages:
                await self.publish(channel, message)
            return
        messages = [(channel, _published(message)) for channel, message in messages]
        try:
            await self.commands.call_many([(self.verb, channel, message) for channel, message in messages])
        except Exception as exc:  # any failure (note at RETRY_INTERVAL_S)
            self._failed(exc)
            self._pending.extend(messages)
            self._ensure_retrying()

    def _ensure_retrying(self) -> None:
        if self._retrying is None or self._retrying.done():
            self._retrying = asyncio.create_task(self._retry_loop())

    async def _retry_loop(self) -> None:
        while self._pending:
            channel, message = self._pending[0]
            try:
                await self._send(channel, message)
            except Exception:  # any failure (note at RETRY_INTERVAL_S)
                await asyncio.sleep(RETRY_INTERVAL_S)
                continue
            self._pending.popleft()
        log.info("publish retry buffer drained")

    async def close(self) -> None:
        """Stop retrying (messages still buffered are recoverable by sync) and close the command channel."""
        await cancel_and_wait(self._retrying)
        await self.commands.close()


_KINDS = {ord("D"): "durable", ord("E"): "ephemeral", ord("C"): "control"}


def _published(message: bytes) -> bytes:
    """Count a message by kind; durable ones are stamped with the publication time (the delivery lag's start)."""
    metrics.labelled(metrics.events_published, _KINDS.get(message[0], "other") if message else "other").inc()
    return wire.stamped(message, time.time_ns() // 1_000_000)
