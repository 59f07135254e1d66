"""Keeping every node's word list current: a Redis message on change, and a fingerprint check as a fallback.

``announce`` publishes on ``<prefix>safety:words`` after a committed change. Every node runs one task that
listens on that channel with its own connection and, on a message, reloads the list; it also asks the cache
to compare the fingerprint of the list in force every ``check_s`` (1 s), so a message lost while Redis was
unreachable costs at most that long. Redis errors are logged and retried; the fingerprint checks go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import redis.asyncio as aioredis
from sqlalchemy.exc import SQLAlchemyError

from domain.background import cancel_and_wait
from domain.safety.cache import WordCache
from infra.redis_cluster import REDIS_ERRORS

log = logging.getLogger("infra.word_list_sync")

CHECK_S = 1.0
CHANGED = b"changed"


class WordListSync:
    """Announces changes to the other nodes and applies theirs to this node's ``WordCache``."""

    def __init__(self, cache: WordCache, redis: aioredis.Redis, redis_factory: Callable[[], aioredis.Redis],
                 prefix: str, check_s: float = CHECK_S) -> None:
        self.cache = cache
        self.redis = redis  # the shared pool, for publishing
        self.redis_factory = redis_factory  # a dedicated connection for the subscription
        self.channel = f"{prefix}safety:words"
        self.check_s = check_s
        self._task: asyncio.Task[None] | None = None

    async def announce(self) -> None:
        """Tell every node (this one included: harmless) that the list changed."""
        try:
            await self.redis.publish(self.channel, CHANGED)
        except REDIS_ERRORS:
            log.warning("could not announce a word list change; other nodes pick it up within %.0f s", self.check_s)

    async def start(self) -> None:
        """Load the list, then keep it current in the background."""
        try:
            await self.cache.refresh(force=True)
        except (SQLAlchemyError, OSError) as exc:  # PostgreSQL away at start: the node still starts (503s)
            log.warning("could not load the word list (%s); retrying in the background", type(exc).__name__)
        self._task = asyncio.create_task(self._run(), name="word-list-sync")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            client = self.redis_factory()
            try:
                await self._listen(client)
            except REDIS_ERRORS:
                log.warning("word list subscription lost; reconnecting")
                await self._check()
                await asyncio.sleep(self.check_s)
            finally:
                with contextlib.suppress(*REDIS_ERRORS):
                    await client.aclose()

    async def _listen(self, client: aioredis.Redis) -> None:
        async with client.pubsub() as pubsub:
            await pubsub.subscribe(self.channel)
            await self._check()  # anything missed while not subscribed
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=self.check_s)
                await self._check(force=message is not None)

    async def _check(self, *, force: bool = False) -> None:
        try:
            await self.cache.refresh(force=force)
        except (SQLAlchemyError, OSError):
            log.warning("word list check failed; trying again in %.0f s", self.check_s)
