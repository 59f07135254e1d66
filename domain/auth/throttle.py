"""Failed-login throttling per account, counted in Redis.

After ``max_failures`` failed logins on one email within ``window_s`` seconds,
further attempts on that email get ``rate_limited`` until the window ends,
whatever the password. Unknown emails are counted the same way, so the
throttle does not reveal which accounts exist. A successful login clears the
count. If Redis is unreachable the throttle lets logins through (bcrypt still
bounds guessing) and logs a warning: availability over a second lock.
"""

from __future__ import annotations

import hashlib
import logging

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from domain.errors import RateLimited

log = logging.getLogger("domain.auth.throttle")


class LoginThrottle:
    """Counts failures per normalised email under ``prefix``."""

    def __init__(self, redis: aioredis.Redis, prefix: str, max_failures: int, window_s: int) -> None:
        self.redis = redis
        self.prefix = prefix
        self.max_failures = max_failures
        self.window_s = window_s

    def _key(self, email: str) -> str:
        digest = hashlib.sha256(email.strip().casefold().encode()).hexdigest()[:40]
        return f"{self.prefix}login-fail:{digest}"

    async def check(self, email: str) -> None:
        """Raise ``RateLimited`` if this account has too many recent failures."""
        key = self._key(email)
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.get(key)
                pipe.ttl(key)
                count, ttl = await pipe.execute()
        except RedisError as exc:
            log.warning("login throttle unavailable (%s); allowing the attempt", type(exc).__name__)
            return
        if count is not None and int(count) >= self.max_failures:
            raise RateLimited("too many failed logins; try again later",
                              retry_after_s=ttl if ttl and ttl > 0 else self.window_s)

    async def failed(self, email: str) -> None:
        """Record one failed attempt."""
        key = self._key(email)
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                # SET NX starts the window on the first failure (EXPIRE NX needs Redis 7; this works on 6.2 too)
                pipe.set(key, 0, ex=self.window_s, nx=True)
                pipe.incr(key)
                await pipe.execute()
        except RedisError as exc:
            log.warning("login throttle unavailable (%s); failure not counted", type(exc).__name__)

    async def succeeded(self, email: str) -> None:
        """Forget the failures of an account that just logged in."""
        try:
            await self.redis.delete(self._key(email))
        except RedisError as exc:
            log.warning("login throttle unavailable (%s)", type(exc).__name__)
