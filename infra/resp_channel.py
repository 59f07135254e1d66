"""A lean, pipelined connection to one Redis for the commands every socket command may send (PUBLISH, the
typing throttle's SET): written to the transport at once, answered in order from a queue of futures.

Why not redis-py for these: each redis-py call checks a connection out of its pool, arms an
``asyncio.wait_for`` (a task of its own on Python 3.11) around the write and a timeout around the read, and
goes through its response callbacks; about 160 µs of CPU per PUBLISH on our machine against about 60 µs
here, most of which is the system calls (measured with 5,000 sequential publishes on each). The load
benchmark's CPU profile had redis-py under 15 % of a node's CPU, two thirds of it for these two commands.

What redis-py gave that this keeps: replies parsed by hiredis; errors raised as redis-py's exception classes
(``ConnectionError``, ``TimeoutError``, ``ResponseError``), so callers handle both alike; a reply timeout
(one watchdog per connection, checked every second, instead of a timer per call: a connection whose oldest
unanswered command waited longer than ``reply_timeout_s`` is dropped and its callers get ``TimeoutError``);
a fresh connection on the next call after one is lost, with AUTH and SELECT from the URL. Plain ``redis://``
and ``unix://`` URLs only (``supports``); TLS and the cluster keep redis-py.
"""

from __future__ import annotations

import asyncio
import functools
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import hiredis
from redis.connection import parse_url
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

Arg = str | bytes | int | float  # a float is written as its repr, as redis-py writes it
Command = Sequence[Arg]

REPLY_TIMEOUT_S = 5.0
CONNECT_TIMEOUT_S = 3.0
WATCH_EVERY_S = 1.0


def encode_commands(commands: Sequence[Command]) -> bytes:
    parts: list[bytes] = []
    for command in commands:
        parts.append(b"*%d\r\n" % len(command))
        for arg in command:
            data = arg if isinstance(arg, bytes) else str(arg).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


@dataclass
class _Waiting:
    """Callers waiting for the replies of commands written together, in the order they were written."""

    future: asyncio.Future[list[Any]]
    count: int
    deadline: float
    replies: list[Any] = field(default_factory=list)


class RespProtocol(asyncio.Protocol):
    def __init__(self, reply_timeout_s: float) -> None:
        self.loop = asyncio.get_running_loop()
        self.reader = hiredis.Reader()
        self.waiting: deque[_Waiting] = deque()
        self.reply_timeout_s = reply_timeout_s
        self.transport: asyncio.Transport | None = None
        self.lost: Exception | None = None
        self.watchdog: asyncio.TimerHandle | None = None

    @property
    def open(self) -> bool:
        return self.transport is not None and self.lost is None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # a stream transport; uvloop's are not subclasses of asyncio.Transport, so no isinstance check
        self.transport = cast(asyncio.Transport, transport)
        self.watchdog = self.loop.call_later(WATCH_EVERY_S, self._watch)

    def send(self, commands: Sequence[Command]) -> asyncio.Future[list[Any]]:
        """Write ``commands`` now; the future gets their replies (error replies as ``ResponseError`` values)."""
        future: asyncio.Future[list[Any]] = self.loop.create_future()
        if self.lost is not None or self.transport is None:
            future.set_exception(self.lost or RedisConnectionError("not connected to Redis"))
            return future
        self.transport.write(encode_commands(commands))
        self.waiting.append(_Waiting(future, len(commands), self.loop.time() + self.reply_timeout_s))
        return future

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        try:
            while (reply := self.reader.gets()) is not False:
                self._answer(reply)
        except (hiredis.ProtocolError, IndexError) as exc:  # garbage, or a reply nobody asked for
            self._drop(RedisConnectionError(f"bad reply from Redis: {exc!r}"))

    def _answer(self, reply: Any) -> None:
        head = self.waiting[0]
        head.replies.append(ResponseError(str(reply)) if isinstance(reply, hiredis.ReplyError) else reply)
        if len(head.replies) == head.count:
            self.waiting.popleft()
            if not head.future.done():  # its caller may have been cancelled
                head.future.set_result(head.replies)

    def _watch(self) -> None:
        if self.waiting and self.waiting[0].deadline < self.loop.time():
            self._drop(RedisTimeoutError(f"no reply from Redis within {self.reply_timeout_s:g} s"))
            return
        self.watchdog = self.loop.call_later(WATCH_EVERY_S, self._watch)

    def _drop(self, exc: Exception) -> None:
        self.lost = self.lost or exc
        if self.transport is not None:
            self.transport.abort()  # connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = self.lost or RedisConnectionError(f"connection to Redis lost ({exc or 'closed'})")
        if self.watchdog is not None:
            self.watchdog.cancel()
        while self.waiting:
            waiting = self.waiting.popleft()
            if not waiting.future.done():
                waiting.future.set_exception(self.lost)


P = TypeVar("P", bound=RespProtocol)


async def connect(address: dict[str, Any], make: Callable[[], P], timeout_s: float, name: str | None = None) -> P:
    """A connection to the Redis at ``address`` (``redis.connection.parse_url``'s form), set up with AUTH and
    SELECT as it says and named ``name`` (CLIENT SETNAME: what operators see in CLIENT LIST);
    ``ConnectionError`` when it cannot be made, ``ResponseError`` when Redis refuses the credentials."""
    loop = asyncio.get_running_loop()
    protocol: P | None = None
    try:
        async with asyncio.timeout(timeout_s):
            if "path" in address:
                _, protocol = await loop.create_unix_connection(make, address["path"])
            else:
                _, protocol = await loop.create_connection(make, address.get("host", "localhost"),
                                                           int(address.get("port", 6379)))
            await _hello(protocol, address, name)
    except BaseException as exc:
        if protocol is not None and protocol.transport is not None:
            protocol.transport.abort()  # made, but not set up in time (or cancelled): not left open
        if isinstance(exc, OSError | TimeoutError):
            raise RedisConnectionError(f"cannot connect to Redis ({type(exc).__name__}: {exc})") from exc
        raise
    return protocol


async def _hello(protocol: RespProtocol, address: dict[str, Any], name: str | None) -> None:
    """AUTH, SELECT and CLIENT SETNAME as the URL and ``name`` say; an error closes the connection and raises."""
    setup: list[Command] = []
    if address.get("password") is not None:
        user = address.get("username")
        setup.append(("AUTH", user, address["password"]) if user else ("AUTH", address["password"]))
    if int(address.get("db") or 0):
        setup.append(("SELECT", int(address["db"])))
    if name:
        setup.append(("CLIENT", "SETNAME", name))
    if not setup:
        return
    errors = [r for r in await protocol.send(setup) if isinstance(r, ResponseError)]
    if errors:
        protocol._drop(RedisConnectionError(f"Redis refused the connection's setup: {errors[0]}"))
        raise errors[0]


def single_redis_address(url: str, user: str) -> dict[str, Any]:
    """``url`` parsed as redis-py does; ``ValueError`` naming ``user`` unless it is ``redis://`` or ``unix://``."""
    if not RespChannel.supports(url):
        raise ValueError(f"{user} takes a redis:// or unix:// URL")
    address: dict[str, Any] = parse_url(url)  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
    return address


class RespChannel:
    """Commands to one Redis over one pipelined connection, made on first use and again after it is lost."""

    def __init__(self, url: str, *, reply_timeout_s: float = REPLY_TIMEOUT_S,
                 connect_timeout_s: float = CONNECT_TIMEOUT_S, name: str | None = None) -> None:
        self.address = single_redis_address(url, "RespChannel")
        self.reply_timeout_s = reply_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.name = name
        self._protocol: RespProtocol | None = None
        self._connecting = asyncio.Lock()

    @staticmethod
    def supports(url: str) -> bool:
        """A single Redis over plain TCP or a Unix socket (TLS and the cluster stay on redis-py)."""
        return url.startswith(("redis://", "unix://"))

    async def call(self, *command: Arg) -> Any:
        """One command's reply; an error reply raises ``ResponseError``."""
        return (await self.call_many([command]))[0]

    async def call_many(self, commands: Sequence[Command], *, raise_on_error: bool = True) -> list[Any]:
        """Several commands written at once, their replies in order; once all are in, the first error reply
        raises ``ResponseError`` (as redis-py's pipeline does), or with ``raise_on_error=False`` stands in the
        list."""
        if not commands:
            return []
        protocol = self._protocol
        if protocol is None or not protocol.open:
            protocol = await self._connect()
        replies = await protocol.send(commands)
        if not raise_on_error:
            return replies
        for reply in replies:
            if isinstance(reply, ResponseError):
                raise reply
        return replies

    async def _connect(self) -> RespProtocol:
        async with self._connecting:
            if self._protocol is not None and self._protocol.open:
                return self._protocol
            make = functools.partial(RespProtocol, self.reply_timeout_s)
            self._protocol = await connect(self.address, make, self.connect_timeout_s, self.name)
            return self._protocol

    async def close(self) -> None:
        protocol, self._protocol = self._protocol, None
        if protocol is not None and protocol.transport is not None:
            protocol.transport.close()  # callers still waiting get ConnectionError
