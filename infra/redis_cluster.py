"""Redis Cluster support: the ``redis+cluster://`` URL, the command client, and a sharded pub/sub subscriber.

``REDIS_URL=redis+cluster://[user:password@]host:port[,host:port...]`` names a Redis Cluster (Redis 7 or
later) by some of its nodes; any one that answers tells the rest. Commands then go through redis-py's
``RedisCluster`` (it follows MOVED/ASK and refreshes its slot map), hub messages are sent with SPUBLISH and
received with SSUBSCRIBE, so a message travels only within the shard that owns its channel's slot instead of
over the whole cluster bus.

``ShardedPubSub`` is the subscriber: one connection per master that owns a slot of a subscribed channel
(user channels carry one of a fixed number of partition hash tags, ``domain.events.wire``, so a node holds
about one connection per shard however many users it serves, and all the channels of a partition go out in
one SSUBSCRIBE). It speaks the small part of redis-py's ``PubSub`` interface the hub uses (``subscribe``,
``unsubscribe``, ``get_message``, ``aclose``), with SSUBSCRIBE confirmations reported as ``subscribe`` and
shard messages as ``message``. Any topology change ends it with an error: a shard connection lost (a master
died), a MOVED reply, or a SUNSUBSCRIBE the server sends on its own (the slot was migrated away). The hub then
does what it does after any Redis outage: connects again (a fresh slot map from ``CLUSTER SLOTS``),
resubscribes every channel in bulk, and has every local socket catch up from PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import unquote, urlsplit

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.connection import Connection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.crc import key_slot
from redis.exceptions import RedisClusterException, RedisError

log = logging.getLogger("infra.redis_cluster")

SCHEME = "redis+cluster"
KEEPALIVE_S = 15.0  # an idle shard connection is PINGed this often; no answer within as long again: lost
CONNECT_TIMEOUT_S = 3.0

# what a Redis call may raise in either mode (redis-py's cluster errors are not all RedisErrors)
REDIS_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError, RedisClusterException)

Address = tuple[str, int]


@dataclass(frozen=True)
class ClusterURL:
    """A parsed ``redis+cluster://`` URL."""

    nodes: tuple[Address, ...]
    username: str | None = None
    password: str | None = None


def parse_cluster_url(url: str) -> ClusterURL | None:
    """The seed nodes and credentials of a ``redis+cluster://`` URL; None for any other URL (single Redis)."""
    scheme, _, rest = url.partition("://")
    if scheme.lower() != SCHEME:
        return None
    userinfo, at, hosts = rest.rpartition("@")
    if not at:
        userinfo, hosts = "", rest
    hosts = hosts.split("/", 1)[0].split("?", 1)[0]
    nodes = tuple(_address(part) for part in hosts.split(",") if part.strip())
    if not nodes:
        raise ValueError("a redis+cluster:// URL names at least one host:port")
    username, colon, password = userinfo.partition(":")
    if not colon:
        username, password = "", username
    return ClusterURL(nodes, unquote(username) or None, unquote(password) or None)


def _address(part: str) -> Address:
    parsed = urlsplit(f"//{part.strip()}")
    if parsed.hostname is None or parsed.port is None:
        raise ValueError(f"not host:port: {part!r}")
    return parsed.hostname, parsed.port


def is_cluster_url(url: str) -> bool:
    return parse_cluster_url(url) is not None


def is_cluster(client: object) -> bool:
    """True if ``client`` talks to a Redis Cluster (keys in one transaction or script must then share a slot)."""
    return isinstance(client, RedisCluster)


def cluster_client(url: ClusterURL, *, max_connections: int = 64, socket_timeout: float = 5) -> aioredis.Redis:
    """A ``RedisCluster`` command client.

    Typed as ``aioredis.Redis``: it offers the same command methods (redis-py's command mixins), pipelines
    and scripts that the services call, and the services need not know which one they were given.
    """
    client = RedisCluster(startup_nodes=[ClusterNode(host, port) for host, port in url.nodes],
                          username=url.username, password=url.password, max_connections=max_connections,
                          socket_timeout=socket_timeout, socket_connect_timeout=CONNECT_TIMEOUT_S)
    return cast(aioredis.Redis, client)


async def prepare(client: aioredis.Redis) -> None:
    """Read a cluster client's slot map now, before concurrent first commands; nothing to do on one Redis.

    A cluster that does not answer yet is not an error: the client tries again on its first command.
    """
    if not isinstance(client, RedisCluster):
        return
    try:
        await client.initialize()
    except REDIS_ERRORS as exc:
        log.warning("Redis Cluster not reachable at start (%s); retrying on first use", type(exc).__name__)


def client_from_url(url: str, **kwargs: Any) -> aioredis.Redis:
    """A command client for any ``REDIS_URL``; ``kwargs`` go to a single Redis's ``from_url``."""
    cluster = parse_cluster_url(url)
    if cluster is not None:
        return cluster_client(cluster, max_connections=4)
    return aioredis.Redis.from_url(url, **kwargs)


def node_client_factory(url: ClusterURL) -> Callable[[], aioredis.Redis]:
    """Clients of one cluster node each, the next seed node at every call (a dead one is skipped next time).

    For classic (not sharded) pub/sub, which a cluster delivers to every node: the word list's rare
    broadcasts need no partitioning, and any node that answers serves them.
    """
    seeds = itertools.cycle(url.nodes)

    def make() -> aioredis.Redis:
        host, port = next(seeds)
        return aioredis.Redis(host=host, port=port, username=url.username, password=url.password,
                              socket_connect_timeout=CONNECT_TIMEOUT_S, health_check_interval=10)

    return make


class ShardedSource:
    """Makes ``ShardedPubSub`` subscribers; remembers every node it has seen, for the next slot map."""

    def __init__(self, url: ClusterURL) -> None:
        self.url = url
        self.known: list[Address] = list(url.nodes)

    def pubsub(self, **_: Any) -> ShardedPubSub:
        return ShardedPubSub(self)

    async def aclose(self) -> None:
        """Nothing to close: each subscriber owns its connections."""

    def connection(self, address: Address) -> Connection:
        return Connection(host=address[0], port=address[1], username=self.url.username,
                          password=self.url.password, socket_connect_timeout=CONNECT_TIMEOUT_S,
                          socket_timeout=CONNECT_TIMEOUT_S, retry=Retry(NoBackoff(), 0),
                          protocol=2)  # RESP2: subscription replies are read as replies, not handed to push handlers

    async def slot_map(self) -> dict[int, Address]:
        """Slot -> master address, from ``CLUSTER SLOTS`` of the first known node that answers."""
        last: BaseException | None = None
        for address in list(self.known):
            conn = self.connection(address)
            try:
                await conn.connect()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
                await conn.send_command("CLUSTER", "SLOTS")
                reply = await conn.read_response()
            except REDIS_ERRORS as exc:
                last = exc
                continue
            finally:
                await conn.disconnect()
            return self._learn(reply, address)
        raise RedisError(f"no cluster node answered CLUSTER SLOTS ({type(last).__name__})")

    def _learn(self, reply: list[Any], asked: Address) -> dict[int, Address]:
        slots: dict[int, Address] = {}
        for entry in reply:
            start, end, master, *replicas = entry
            for index, node in enumerate((master, *replicas)):
                host = _text(node[0]) or asked[0]
                address = (host, int(node[1]))
                if address not in self.known:
                    self.known.append(address)
                if index == 0:
                    slots.update(dict.fromkeys(range(int(start), int(end) + 1), address))
        return slots


class _Shard:
    """One connection to one master, with a reader task that feeds the subscriber's queue."""

    def __init__(self, conn: Connection, owner: ShardedPubSub) -> None:
        self.conn = conn
        self.owner = owner
        self.reader = asyncio.create_task(self._read(), name=f"shard-{conn.host}:{conn.port}")

    async def _read(self) -> None:
        try:
            while True:
                reply = await self.conn.read_response(timeout=KEEPALIVE_S)
                if reply is None:  # idle: ask for a sign of life
                    await self.conn.send_command("PING")
                    reply = await self.conn.read_response(timeout=KEEPALIVE_S)
                    if reply is None:
                        raise TimeoutError(f"shard {self.conn.host}:{self.conn.port} does not answer")
                self.owner.handle(reply)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            self.owner.fail(exc)


class ShardedPubSub:
    """SSUBSCRIBE across the masters of a Redis Cluster, behind the part of ``PubSub`` the hub uses."""

    def __init__(self, source: ShardedSource) -> None:
        self.source = source
        self._slots: dict[int, Address] | None = None
        self._shards: dict[Address, _Shard] = {}
        self._queue: asyncio.Queue[dict[str, Any] | BaseException] = asyncio.Queue()
        self._leaving: Counter[bytes] = Counter()  # SUNSUBSCRIBE replies we asked for (the others are a slot moving)
        self._lock = asyncio.Lock()

    @property
    def connections(self) -> int:
        """Open shard connections (one per master that owns a subscribed channel's slot)."""
        return len(self._shards)

    async def subscribe(self, *channels: str) -> None:
        """SSUBSCRIBE, one command per slot (every channel of a partition shares one)."""
        async with self._lock:
            for address, slot_channels in (await self._by_shard(channels)).items():
                shard = await self._shard(address)
                for group in slot_channels:
                    await shard.conn.send_command("SSUBSCRIBE", *group)

    async def unsubscribe(self, *channels: str) -> None:
        async with self._lock:
            for address, slot_channels in (await self._by_shard(channels)).items():
                shard = self._shards.get(address)
                if shard is None:
                    continue
                for group in slot_channels:
                    self._leaving.update(c.encode() for c in group)  # Counter.update counts
                    await shard.conn.send_command("SUNSUBSCRIBE", *group)

    async def get_message(self, timeout: float | None = 0.0, **_: Any) -> dict[str, Any] | None:  # noqa: ASYNC109 - redis-py PubSub.get_message signature
        """The next confirmation or message (None after ``timeout`` s); raises once the topology changed."""
        try:
            item = await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None
        if isinstance(item, BaseException):
            self._queue.put_nowait(item)  # every later call fails too, until the hub reconnects
            raise item
        return item

    async def aclose(self) -> None:
        shards, self._shards = list(self._shards.values()), {}
        for shard in shards:
            shard.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await shard.reader
            with contextlib.suppress(*REDIS_ERRORS):
                await shard.conn.disconnect()

    # -- called by the shard readers ---------------------------------------------------------------
    def handle(self, reply: Any) -> None:
        if not isinstance(reply, list) or len(reply) < 3:
            return  # PONG
        kind, channel, data = _text(reply[0]).lower(), reply[1], reply[2]
        if kind == "smessage":
            self._queue.put_nowait({"type": "message", "channel": channel, "data": data, "pattern": None})
        elif kind == "ssubscribe":
            self._queue.put_nowait({"type": "subscribe", "channel": channel, "data": data, "pattern": None})
        elif kind == "sunsubscribe" and self._leaving[channel] <= 0:
            self.fail(RedisError(f"slot of {_text(channel)} moved away"))
        elif kind == "sunsubscribe":
            self._leaving[channel] -= 1
            if not self._leaving[channel]:
                del self._leaving[channel]

    def fail(self, exc: BaseException) -> None:
        log.info("sharded subscription ends: %s", type(exc).__name__)
        self._queue.put_nowait(exc)

    # -- routing -----------------------------------------------------------------------------------
    async def _by_shard(self, channels: Iterable[str]) -> dict[Address, list[list[str]]]:
        if self._slots is None:
            self._slots = await self.source.slot_map()
        by_slot: dict[int, list[str]] = {}
        for channel in channels:
            by_slot.setdefault(key_slot(channel.encode()), []).append(channel)
        grouped: dict[Address, list[list[str]]] = {}
        for slot, group in by_slot.items():
            address = self._slots.get(slot)
            if address is None:
                raise RedisError(f"slot {slot} has no master")
            grouped.setdefault(address, []).append(group)
        return grouped

    async def _shard(self, address: Address) -> _Shard:
        shard = self._shards.get(address)
        if shard is None:
            conn = self.source.connection(address)
            await conn.connect()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
            shard = self._shards[address] = _Shard(conn, self)
        return shard


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
