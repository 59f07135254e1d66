"""Process-wide resources created by the app's lifespan and handed to the transports."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from delete_api import __version__
from delete_api.database import make_engine, make_sessionmaker
from delete_api.jobs import JobRunner
from delete_api.jobs import interval_s as jobs_interval_s
from delete_api.settings import Settings
from domain.auth.passwords import PasswordHasher
from domain.auth.service import AuthDeps
from domain.auth.throttle import LoginLimits, LoginThrottle
from domain.auth.tokens import TokenConfig
from domain.events.log import EventLog
from domain.events.publisher import Publisher
from domain.photos.storage import LocalMediaStorage, MediaStorage
from realtime.hub import Hub
from realtime.presence import Presence

REDIS_POOL_SIZE = 64


@dataclass
class Realtime:
    """The socket machinery of this process."""

    hub: Hub
    events: EventLog
    presence: Presence
    publisher: Publisher


@dataclass
class Resources:
    """Everything a request or socket message may need, created once per process."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: aioredis.Redis
    auth: AuthDeps
    storage: MediaStorage
    redis_prefix: str
    realtime: Realtime
    version: str = __version__


def login_throttle(settings: Settings, redis: aioredis.Redis, prefix: str) -> LoginThrottle:
    """The failed-login throttle; its digests of emails and addresses are keyed by a key derived from JWT_SECRET."""
    assert settings.jwt_secret is not None
    key = hmac.new(settings.jwt_secret.reveal().encode(), b"delete login throttle", hashlib.sha256).digest()
    limits = LoginLimits(pair_max=settings.login_max_failures, window_s=settings.login_failure_window_s,
                         address_max=settings.login_max_failures_per_address,
                         account_max=settings.login_max_failures_per_account,
                         account_window_s=settings.login_account_window_s,
                         known_ttl_s=settings.login_known_address_ttl_s)
    return LoginThrottle(redis, prefix, key, limits)


@asynccontextmanager
async def open_resources(settings: Settings) -> AsyncIterator[Resources]:
    """Create the engine, Redis client and services; close them on exit."""
    assert settings.database_url is not None and settings.redis_url is not None
    assert settings.jwt_secret is not None
    engine = make_engine(settings.database_url.reveal())
    redis_url = settings.redis_url.reveal()
    # a blocking pool: a burst (hundreds of sockets closing at once) waits for a connection instead of failing
    redis = aioredis.Redis.from_pool(aioredis.BlockingConnectionPool.from_url(
        redis_url, max_connections=REDIS_POOL_SIZE, timeout=5, socket_timeout=5, socket_connect_timeout=3,
        health_check_interval=15))
    prefix = str(settings.extra.get("redis_prefix", "delete:"))
    publisher = Publisher(redis)
    events = EventLog(publisher, prefix)
    sessions = make_sessionmaker(engine)
    hub = Hub(lambda: aioredis.Redis.from_url(redis_url, socket_connect_timeout=3, health_check_interval=10), prefix)
    presence = Presence(redis, prefix, events, sessions, ttl_s=float(settings.extra.get("presence_ttl_s", 60)))
    realtime = Realtime(hub=hub, events=events, presence=presence, publisher=publisher)
    token_config = TokenConfig(secret=settings.jwt_secret.reveal(), algorithm=settings.jwt_algorithm,
                               access_ttl_s=settings.access_token_ttl_s,
                               refresh_ttl_s=settings.refresh_token_ttl_s)
    auth = AuthDeps(hasher=PasswordHasher(settings.bcrypt_cost), tokens=token_config,
                    throttle=login_throttle(settings, redis, prefix), events=events)
    settings.media_path.mkdir(parents=True, exist_ok=True)
    storage = LocalMediaStorage(settings.media_path, settings.public_base_url)
    jobs = JobRunner(sessions, events, jobs_interval_s(settings))
    await hub.start()
    await presence.start()
    jobs.start()
    try:
        yield Resources(settings=settings, engine=engine, sessions=sessions, redis=redis,
                        auth=auth, storage=storage, redis_prefix=prefix, realtime=realtime)
    finally:
        await jobs.stop()
        await presence.stop()
        await hub.stop()
        await publisher.close()
        await redis.aclose()
        await engine.dispose()


def random_prefix() -> str:
    """A Redis key prefix unique to one test server."""
    return f"t{secrets.token_hex(4)}:"
