"""Process-wide resources created by the app's lifespan: each transport's declared dependencies, built here."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from delete_api import __version__
from delete_api.database import make_engine, make_sessionmaker
from delete_api.jobs import JobRunner
from delete_api.jobs import interval_s as jobs_interval_s
from delete_api.mail import mail_sender
from delete_api.metrics_sampler import MetricsSampler
from delete_api.settings import Settings
from domain.auth.access_check import AccessChecker
from domain.auth.account_mail import AccountMail
from domain.auth.passwords import PasswordHasher, hashing_pool
from domain.auth.reset_requests import ResetRequests
from domain.auth.service import AuthDeps
from domain.auth.tokens import TokenConfig
from domain.batch_connection import BatchConnection
from domain.discovery.signals import discovery_channel
from domain.events.catchup import CatchUpReader
from domain.events.log import EventLog
from domain.photos.storage import LocalMediaStorage, MediaStorage
from domain.read_lane import ReadLane
from domain.read_sessions import ReadSessions
from domain.safety.cache import WordCache
from infra.login_throttle import LoginLimits, LoginThrottle
from infra.redis_cluster import ShardedSource, cluster_client, node_client_factory, parse_cluster_url
from infra.redis_cluster import prepare as prepare_redis
from infra.redis_commands import Commands, command_channel
from infra.redis_publisher import RedisPublisher
from infra.resp_channel import RespChannel
from infra.resp_subscriber import LeanSubscriber
from infra.typing_throttle import TypingThrottle
from infra.word_list_sync import CHECK_S, WordListSync
from realtime.deps import RealtimeDeps, SocketConfig
from realtime.discovery_live import SWEEP_S, DiscoveryLive
from realtime.hub import Hub, PubSubSource
from realtime.presence import Presence
from rest.deps import RestConfig, RestDeps

REDIS_POOL_SIZE = 64


@dataclass
class Resources:
    """What the lifespan made: the two transports' dependencies and what the root itself closes."""

    settings: Settings
    rest: RestDeps
    realtime: RealtimeDeps


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


def _redis_client(url: str) -> aioredis.Redis:
    cluster = parse_cluster_url(url)
    if cluster is not None:
        return cluster_client(cluster, max_connections=REDIS_POOL_SIZE)
    # a blocking pool: a burst (hundreds of sockets closing at once) waits for a connection instead of failing
    return aioredis.Redis.from_pool(aioredis.BlockingConnectionPool.from_url(
        url, max_connections=REDIS_POOL_SIZE, timeout=5, socket_timeout=5, socket_connect_timeout=3,
        health_check_interval=15))


def _subscriber(url: str) -> Callable[[], PubSubSource]:
    """What the hub subscribes with: the lean subscriber on a single Redis (a fresh connection each time), a
    cluster's sharded subscriber, or redis-py's (TLS)."""
    cluster = parse_cluster_url(url)
    if cluster is not None:
        source = ShardedSource(cluster)
        return lambda: source
    if RespChannel.supports(url):
        lean = LeanSubscriber(url, name="delete-api-hub")
        return lambda: lean
    return lambda: aioredis.Redis.from_url(url, socket_connect_timeout=3, health_check_interval=10)


def _dedicated_client(url: str) -> Callable[[], aioredis.Redis]:
    """A factory of clients for a long-lived subscription of its own (the word list's classic pub/sub)."""
    cluster = parse_cluster_url(url)
    if cluster is not None:
        return node_client_factory(cluster)
    return lambda: aioredis.Redis.from_url(url, socket_connect_timeout=3, health_check_interval=10)


def _rest_deps(settings: Settings, common: _Common) -> RestDeps:
    config = RestConfig(version=__version__, public_base_url=settings.public_base_url,
                        photo_max_bytes=settings.photo_max_bytes, photo_max_pixels=settings.photo_max_pixels,
                        trusted_proxy_header=settings.trusted_proxy_header)
    return RestDeps(config=config, sessions=common.sessions, auth=common.auth, storage=common.storage,
                    events=common.events, engine=common.engine, redis=common.redis, resets=common.resets,
                    content_filter=common.content_filter)


def _realtime_deps(settings: Settings, common: _Common, redis_url: str,
                   batches: _BatchReads) -> RealtimeDeps:
    prefix = common.events.prefix
    hub = Hub(_subscriber(redis_url), prefix)
    presence = Presence(common.redis, prefix, common.events, batches.partners,
                        ttl_s=float(settings.extra.get("presence_ttl_s", 60)), commands=common.commands)
    live = DiscoveryLive(common.sessions, common.storage, hub, discovery_channel(prefix),
                         sweep_s=float(settings.extra.get("discovery_sweep_s", SWEEP_S)))
    config = SocketConfig(heartbeat_s=settings.heartbeat_s, allowed_origins=frozenset(settings.allowed_origins),
                          own_origin=settings.public_base_url, version=__version__)
    return RealtimeDeps(config=config, sessions=common.sessions, auth=common.auth, storage=common.storage,
                        events=common.events, hub=hub, presence=presence, discovery=live,
                        typing=TypingThrottle(common.commands, prefix), content_filter=common.content_filter,
                        reads=common.reads,
                        access=AccessChecker(batches.logins, common.auth.tokens),
                        catchup=CatchUpReader(batches.positions))


@dataclass(frozen=True)
class _BatchReads:
    """The connections the coalesced reads of connecting sockets keep while a storm lasts (one per kind)."""

    logins: BatchConnection
    positions: BatchConnection
    partners: BatchConnection

    @classmethod
    def on(cls, engine: AsyncEngine) -> _BatchReads:
        return cls(BatchConnection(engine), BatchConnection(engine), BatchConnection(engine))

    async def close(self) -> None:
        for reads in (self.logins, self.positions, self.partners):
            await reads.close()


@dataclass
class _Common:
    """What both transports share."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: aioredis.Redis
    commands: Commands  # the command path's PUBLISH and SET (the lean channel on a single Redis)
    events: EventLog
    auth: AuthDeps
    storage: MediaStorage
    resets: ResetRequests
    content_filter: WordCache
    reads: ReadSessions  # the read replica's sessions (DATABASE_READ_URL), if any, beside the primary's


@asynccontextmanager
async def open_resources(settings: Settings) -> AsyncIterator[Resources]:
    """Create the engine, Redis client, hashing threads and services; close them on exit."""
    assert settings.database_url is not None and settings.redis_url is not None
    assert settings.jwt_secret is not None
    engine = make_engine(settings.database_url.reveal())
    redis_url = settings.redis_url.reveal()
    redis = _redis_client(redis_url)
    await prepare_redis(redis)
    prefix = str(settings.extra.get("redis_prefix", "delete:"))
    commands = command_channel(redis_url, redis)  # PUBLISH, the typing throttle's SET and presence's scripts
    publisher = RedisPublisher(redis, commands=commands)
    events = EventLog(publisher, prefix)
    sessions = make_sessionmaker(engine)
    read_engine = make_engine(settings.database_read_url.reveal()) if settings.database_read_url else None
    lane = ReadLane(sessions)
    reads = ReadSessions(sessions, make_sessionmaker(read_engine) if read_engine is not None else None, lane)
    token_config = TokenConfig(secret=settings.jwt_secret.reveal(), algorithm=settings.jwt_algorithm,
                               access_ttl_s=settings.access_token_ttl_s,
                               refresh_ttl_s=settings.refresh_token_ttl_s)
    hashing = hashing_pool()
    mail = mail_sender(settings, sessions, reads.fetch_alone)
    account_mail = AccountMail(app_url=settings.app_url, wake=mail.wake)
    auth = AuthDeps(hasher=PasswordHasher(settings.bcrypt_cost, hashing), tokens=token_config,
                    throttle=login_throttle(settings, redis, prefix), events=events, mail=account_mail)
    resets = ResetRequests(sessions, account_mail)
    settings.media_path.mkdir(parents=True, exist_ok=True)
    storage = LocalMediaStorage(settings.media_path, settings.public_base_url)
    content_filter = WordCache(sessions, reads.fetch_alone)
    word_sync = WordListSync(content_filter, redis, _dedicated_client(redis_url), prefix,
        check_s=float(settings.extra.get("word_check_s", CHECK_S)))
    content_filter.signal = word_sync
    common = _Common(engine=engine, sessions=sessions, redis=redis, commands=commands, events=events, auth=auth,
                     storage=storage, resets=resets, content_filter=content_filter, reads=reads)
    batches = _BatchReads.on(engine)
    realtime = _realtime_deps(settings, common, redis_url, batches)
    jobs = JobRunner(sessions, events, jobs_interval_s(settings))
    await realtime.hub.start()
    await realtime.presence.start()
    await realtime.discovery.start()
    jobs.start()
    mail.start()
    sampler = MetricsSampler(engine, sessions, __version__, replica=read_engine)
    sampler.start()
    resets.start()
    await word_sync.start()
    try:
        yield Resources(settings=settings, rest=_rest_deps(settings, common), realtime=realtime)
    finally:
        await sampler.stop()
        await word_sync.stop()
        await resets.stop()
        await mail.stop()
        await jobs.stop()
        await realtime.discovery.stop()
        await realtime.presence.stop()
        await realtime.hub.stop()
        await batches.close()
        await lane.close()
        await publisher.close()
        await redis.aclose()
        await engine.dispose()
        if read_engine is not None:
            await read_engine.dispose()
        hashing.shutdown(wait=False, cancel_futures=True)


def random_prefix() -> str:
    """A Redis key prefix unique to one test server."""
    return f"t{secrets.token_hex(4)}:"
