"""Failed-login throttling, counted in Redis per (account, address) pair, per address and per account.

Three fixed-window counters, each window started by its first failure (defaults in ``LoginLimits``):

- **pair**: one email from one client address, 5 failures per 15 min. A stranger guessing someone's
  password locks out only their own address; the owner logging in from theirs is not affected.
- **address**: one client address across every email, 50 failures per 15 min (credential stuffing).
- **account**: one email across every address, 100 failures per hour (distributed guessing).

Every failure counts toward all three. A full counter answers ``rate_limited`` (whatever the password) with
the longest remaining window among the full counters that apply. An address from which the account logged
in successfully within ``known_ttl_s`` (30 days) is exempt from the address and account ceilings, never
from the pair limit: a botnet cannot lock the owner out at home, and a neighbour behind the same NAT who
stuffs credentials does not lock out the people who already log in from there.

A successful login clears the pair counter only. The address counter stays (else a stuffer could reset it
by logging into an account of their own now and then) and so does the account counter (else every login of
the owner would hand a distributed attack a fresh hour).

Unknown emails are counted exactly like known ones (nothing is looked up), so the throttle does not reveal
which accounts exist. Keys hold HMAC-SHA256 digests of the normalised email and of the address (keyed with
a server secret: an IPv4 address is easy to recover from a plain hash), never the raw values; an IPv6
address counts per /64, the block one subscriber usually gets. If Redis is unreachable the throttle lets
logins through (bcrypt still bounds guessing) and logs a warning: availability over a second lock.

On a Redis Cluster the counters live in different slots, so the pipelines are not transactions there: each
counter's SET NX and INCR still run in order on their own key, and a check may read the counters a moment
apart, which changes nothing a guesser could use.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from domain.errors import RateLimited
from infra.redis_cluster import REDIS_ERRORS, is_cluster

log = logging.getLogger("infra.login_throttle")

IPV6_BLOCK_BITS = 64


@dataclass(frozen=True)
class LoginLimits:
    """How many failures each counter allows, and for how long."""

    pair_max: int = 5
    window_s: int = 900  # the pair and address windows
    address_max: int = 50
    account_max: int = 100
    account_window_s: int = 3600
    known_ttl_s: int = 30 * 86400  # 0: no address is ever exempt


@dataclass(frozen=True)
class _Keys:
    pair: str
    address: str
    account: str
    known: str


def address_bucket(address: str) -> str:
    """The unit an address is counted in: an IPv4 address or an IPv6 /64 (other text as given)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_BLOCK_BITS), strict=False))
    return str(ip)


class LoginThrottle:
    """Counts failed logins under ``prefix``; ``key`` keys the digests of emails and addresses."""

    def __init__(self, redis: aioredis.Redis, prefix: str, key: bytes, limits: LoginLimits) -> None:
        self.redis = redis
        self.prefix = prefix
        self.key = key
        self.limits = limits
        self._atomic = not is_cluster(redis)  # MULTI/EXEC needs every key in one slot on a cluster

    def _digest(self, label: str, value: str) -> str:
        message = label.encode() + b"\0" + value.encode("utf-8", "surrogatepass")
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()[:32]

    def _keys(self, email: str, address: str) -> _Keys:
        account = self._digest("email", email.strip().casefold())
        where = self._digest("address", address_bucket(address))
        fail = f"{self.prefix}login-fail:"
        return _Keys(pair=f"{fail}pair:{account}:{where}", address=f"{fail}addr:{where}",
                     account=f"{fail}acct:{account}", known=f"{self.prefix}login-known:{account}:{where}")

    async def check(self, email: str, address: str) -> None:
        """Raise ``RateLimited`` if a counter that applies to this attempt is full."""
        keys = self._keys(email, address)
        try:
            async with self.redis.pipeline(transaction=self._atomic) as pipe:
                for key in (keys.pair, keys.address, keys.account):
                    pipe.get(key)
                    pipe.ttl(key)
                pipe.exists(keys.known)
                replies = await pipe.execute()
        except REDIS_ERRORS as exc:
            log.warning("login throttle unavailable (%s); allowing the attempt", type(exc).__name__)
            return
        wait = self._wait(replies)
        if wait > 0:
            raise RateLimited("too many failed logins; try again later", retry_after_s=wait)

    def _wait(self, replies: list[Any]) -> int:
        """Seconds until every full counter that applies has ended its window (0: not throttled)."""
        limits, known = self.limits, bool(replies[6])
        counters = ((limits.pair_max, limits.window_s, True),
                    (limits.address_max, limits.window_s, not known),
                    (limits.account_max, limits.account_window_s, not known))
        wait = 0
        for index, (most, window, applies) in enumerate(counters):
            count, ttl = replies[2 * index], replies[2 * index + 1]
            if applies and count is not None and int(count) >= most:
                wait = max(wait, ttl if ttl > 0 else window)
        return wait

    async def failed(self, email: str, address: str) -> None:
        """Record one failed attempt on every counter."""
        keys = self._keys(email, address)
        windows = ((keys.pair, self.limits.window_s), (keys.address, self.limits.window_s),
                   (keys.account, self.limits.account_window_s))
        try:
            async with self.redis.pipeline(transaction=self._atomic) as pipe:
                for key, window in windows:
                    # SET NX starts the window on the first failure (EXPIRE NX needs Redis 7; this works on 6.2)
                    pipe.set(key, 0, ex=window, nx=True)
                    pipe.incr(key)
                await pipe.execute()
        except REDIS_ERRORS as exc:
            log.warning("login throttle unavailable (%s); failure not counted", type(exc).__name__)

    async def succeeded(self, email: str, address: str) -> None:
        """Clear the pair's failures and remember the address as one the account logs in from."""
        keys = self._keys(email, address)
        try:
            async with self.redis.pipeline(transaction=self._atomic) as pipe:
                pipe.delete(keys.pair)
                if self.limits.known_ttl_s > 0:
                    pipe.set(keys.known, 1, ex=self.limits.known_ttl_s)
                await pipe.execute()
        except REDIS_ERRORS as exc:
            log.warning("login throttle unavailable (%s)", type(exc).__name__)
