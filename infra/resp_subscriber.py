"""The hub's subscription to a single Redis on the lean connection of ``infra.resp_channel``, behind the part
of redis-py's ``PubSub`` the hub uses (``subscribe``, ``unsubscribe``, ``get_message``, ``aclose``).

Why: every durable or ephemeral event a node delivers arrives here. redis-py's ``get_message`` reads each
one under a timeout context, through its parser's Python layers and its message handler: after the
publisher moved to the lean channel, it was the largest part of redis-py left in a node's CPU profile
(about 5 % under the load benchmark). Here hiredis parses what arrives, and each message is a small dict in
a queue the hub reads without waiting while more are queued.

A subscribed connection answers nothing unless something is published, so a dead peer would go unnoticed:
after ``ping_after_s`` without a byte from Redis the connection sends PING (allowed while subscribed), and
after ``dead_after_s`` without one it is dropped; ``get_message`` then raises ``ConnectionError``, which the
hub handles like any outage (reconnect, resubscribe, catch up from PostgreSQL).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import deque
from typing import Any

import hiredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from infra.resp_channel import (
    CONNECT_TIMEOUT_S,
    WATCH_EVERY_S,
    Arg,
    RespProtocol,
    connect,
    encode_commands,
    single_redis_address,
)

log = logging.getLogger("infra.resp_subscriber")

PING_AFTER_S = 5.0
DEAD_AFTER_S = 15.0

_KINDS = {b"message": "message", b"subscribe": "subscribe", b"unsubscribe": "unsubscribe"}


class _SubscriberProtocol(RespProtocol):
    """Replies to the setup commands first, as a ``RespProtocol``; then every reply is a pushed message."""

    def __init__(self, ping_after_s: float, dead_after_s: float) -> None:
        super().__init__(reply_timeout_s=dead_after_s)
        self.ping_after_s = ping_after_s
        self.dead_after_s = dead_after_s
        self.pushing = False
        self.heard_at = self.loop.time()
        self.messages: deque[dict[str, Any]] = deque()
        self.wakeup: asyncio.Future[None] | None = None

    def data_received(self, data: bytes) -> None:
        self.heard_at = self.loop.time()
        super().data_received(data)
        self._wake()

    def _answer(self, reply: Any) -> None:
        if not self.pushing:
            super()._answer(reply)
            return
        if isinstance(reply, list) and len(reply) == 3 and (kind := _KINDS.get(reply[0])) is not None:
            self.messages.append({"type": kind, "pattern": None, "channel": reply[1], "data": reply[2]})
        elif isinstance(reply, hiredis.ReplyError):  # e.g. an ACL refusing a channel: its join times out
            log.warning("Redis refused a subscription command: %s", reply)
        # anything else is PING's [b"pong", b""]: it only proved the connection alive

    def write(self, *command: Arg) -> None:
        if self.transport is not None and self.lost is None:
            self.transport.write(encode_commands([command]))

    def _watch(self) -> None:
        quiet = self.loop.time() - self.heard_at
        if quiet > self.dead_after_s:
            self._drop(RedisTimeoutError(f"nothing from Redis for {quiet:.0f} s"))
            return
        if quiet > self.ping_after_s and self.pushing:
            self.write("PING")
        self.watchdog = self.loop.call_later(WATCH_EVERY_S, self._watch)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self._wake()

    def _wake(self) -> None:
        if self.wakeup is not None and not self.wakeup.done():
            self.wakeup.set_result(None)


class LeanPubSub:
    """One subscriber connection, made at the first ``subscribe``; once it is lost every call raises."""

    def __init__(self, address: dict[str, Any], ping_after_s: float, dead_after_s: float,
                 name: str | None = None) -> None:
        self.address = address
        self.name = name
        self.ping_after_s = ping_after_s
        self.dead_after_s = dead_after_s
        self._protocol: _SubscriberProtocol | None = None
        self._lost: Exception | None = None

    async def _connected(self) -> _SubscriberProtocol:
        if self._protocol is None:
            if self._lost is not None:
                raise self._lost
            make = functools.partial(_SubscriberProtocol, self.ping_after_s, self.dead_after_s)
            protocol = await connect(self.address, make, CONNECT_TIMEOUT_S, self.name)
            protocol.pushing = True
            self._protocol = protocol
        if self._protocol.lost is not None:
            raise self._protocol.lost
        return self._protocol

    async def subscribe(self, *channels: str) -> None:
        (await self._connected()).write("SUBSCRIBE", *channels)

    async def unsubscribe(self, *channels: str) -> None:
        (await self._connected()).write("UNSUBSCRIBE", *channels)

    async def get_message(self, timeout: float | None = 0.0, **_: Any) -> dict[str, Any] | None:  # noqa: ASYNC109 - redis-py PubSub.get_message signature
        """The next confirmation or message, None after ``timeout`` s (None: wait as long as it takes);
        ``ConnectionError`` or ``TimeoutError`` once the connection is lost."""
        protocol = self._protocol or await self._connected()
        if not protocol.messages and protocol.lost is None and timeout != 0:
            protocol.wakeup = protocol.loop.create_future()
            try:
                async with asyncio.timeout(timeout):
                    await protocol.wakeup
            except TimeoutError:
                return None
            finally:
                protocol.wakeup = None
        if protocol.messages:
            return protocol.messages.popleft()
        if protocol.lost is not None:
            raise protocol.lost
        return None

    async def aclose(self) -> None:
        protocol, self._protocol = self._protocol, None
        self._lost = RedisConnectionError("subscription closed")
        if protocol is not None and protocol.transport is not None:
            protocol.transport.close()


class LeanSubscriber:
    """What the hub subscribes with on a single Redis (``redis://`` or ``unix://``): a fresh ``LeanPubSub``
    per (re)connect."""

    def __init__(self, url: str, *, ping_after_s: float = PING_AFTER_S, dead_after_s: float = DEAD_AFTER_S,
                 name: str | None = None) -> None:
        self.address = single_redis_address(url, "LeanSubscriber")
        self.ping_after_s = ping_after_s
        self.dead_after_s = dead_after_s
        self.name = name

    def pubsub(self, **_: Any) -> LeanPubSub:
        return LeanPubSub(self.address, self.ping_after_s, self.dead_after_s, self.name)

    async def aclose(self) -> None:
        """Nothing to close: each ``LeanPubSub`` owns its connection."""
