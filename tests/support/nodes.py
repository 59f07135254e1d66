"""Real ``delete-api serve`` processes for multi-node tests, and the client side that drives them.

``running_nodes`` starts N server processes sharing one PostgreSQL database and
one Redis, each on its own loopback port, with its output in
``<root>/node-<i>.log``; a node can be stopped with SIGTERM, killed with
SIGKILL and restarted on the same port. ``Device`` is one socket of a user with
a background reader that records every frame (and when it arrived), so a test
asserts on what was received instead of racing the stream. ``EventSource``
appends durable events the way the commands do: stored by the domain
``EventLog``, published to Redis after commit, from a process that is no node.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from delete_api.database import make_sessionmaker
from delete_api.settings import VARIABLES
from domain.events.log import EventLog
from domain.transaction import unit_of_work
from infra.redis_publisher import RETRY_BUFFER, RedisPublisher
from tests.support.users import PASSWORD, new_email

ROOT = Path(__file__).resolve().parents[2]
NODE_JWT_SECRET = "multi-node-test-secret-" + "k" * 41  # shared by every node so a token works on all of them
SERVER_PREFIX = "delete:"  # the Redis key prefix of `delete-api serve` (delete_api/resources.py default)
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
WAIT_S = 10.0


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- server processes ---------------------------------------------------------------------------

@dataclass
class Node:
    """One ``delete-api serve`` process (or the slot of one that is stopped)."""

    index: int
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    metrics_port: int | None = None  # its METRICS_PORT when the nodes were started with metrics

    @property
    def metrics_url(self) -> str:
        assert self.metrics_port is not None, "started without metrics"
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/ws"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Nodes:
    """N server processes on one database and one Redis; index them like a list."""

    def __init__(self, count: int, *, database_url: str, redis_url: str, root: Path, heartbeat_s: int = 25,
                 extra_env: Mapping[str, str] | None = None, metrics: bool = False, workers: int = 1) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.database_url = database_url
        self.redis_url = redis_url
        self.heartbeat_s = heartbeat_s
        self.extra_env = dict(extra_env or {})  # further service variables, e.g. HEADER_TIMEOUT_S
        self.workers = workers
        self.nodes = [Node(i, free_port(), root / f"node-{i}.log", metrics_port=free_port() if metrics else None)
                      for i in range(count)]

    def __getitem__(self, index: int) -> Node:
        return self.nodes[index]

    def __len__(self) -> int:
        return len(self.nodes)

    def env(self, node: Node) -> dict[str, str]:
        """The process environment: every service variable removed, then set for this node."""
        service = {v.name for v in VARIABLES}
        env = {k: v for k, v in os.environ.items() if k not in service}
        env.update(
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            JWT_SECRET=NODE_JWT_SECRET,
            BCRYPT_COST="4",
            HEARTBEAT_S=str(self.heartbeat_s),
            MEDIA_DIR=str(self.root / "media"),
            DATA_DIR=str(self.root / f"data-{node.index}"),
            LOG_LEVEL="info",
            PYTHONUNBUFFERED="1",
        )
        if node.metrics_port is not None:
            env["METRICS_PORT"] = str(node.metrics_port)
        env.update(self.extra_env)
        return env

    def _spawn(self, node: Node) -> None:
        with node.log_path.open("ab") as log:
            log.write(f"\n===== start {time.strftime('%H:%M:%S')} on port {node.port} =====\n".encode())
            log.flush()
            node.process = subprocess.Popen(
                [sys.executable, "-m", "delete_api.cli", "serve", "--port", str(node.port),
                 "--workers", str(self.workers)],
                env=self.env(node), cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)  # a Ctrl-C meant for pytest is not also a signal to the nodes

    async def _wait_ready(self, node: Node) -> None:
        assert node.process is not None
        deadline = time.monotonic() + READY_TIMEOUT_S
        async with httpx.AsyncClient(timeout=2) as http:
            while time.monotonic() < deadline:
                if node.process.poll() is not None:
                    raise AssertionError(f"node {node.index} exited with {node.process.returncode}:\n"
                                         f"{self.log_tail(node.index)}")
                try:
                    if (await http.get(f"{node.base_url}/v1/health")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"node {node.index} not healthy within {READY_TIMEOUT_S:.0f}s:\n"
                             f"{self.log_tail(node.index)}")

    async def start(self) -> None:
        """Start every node that is not running and wait until all answer health with 200."""
        waiting = [n for n in self.nodes if not n.running]
        for node in waiting:
            self._spawn(node)
        await asyncio.gather(*(self._wait_ready(n) for n in waiting))

    async def terminate(self, index: int, timeout_s: float = STOP_TIMEOUT_S) -> tuple[float, int]:
        """SIGTERM node ``index`` and wait for it to exit; return (seconds taken, exit code)."""
        node = self.nodes[index]
        assert node.process is not None and node.running, f"node {index} is not running"
        started = time.monotonic()
        node.process.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.to_thread(node.process.wait, timeout_s)
        except subprocess.TimeoutExpired:
            self.kill(index)
            raise AssertionError(f"node {index} did not exit within {timeout_s:.0f}s of SIGTERM:\n"
                                 f"{self.log_tail(index)}") from None
        return time.monotonic() - started, code

    def kill(self, index: int) -> None:
        """SIGKILL node ``index`` (no goodbye to anyone) and reap it."""
        node = self.nodes[index]
        if node.process is not None and node.process.poll() is None:
            node.process.kill()
            node.process.wait(5)

    async def restart(self, index: int) -> None:
        """Stop node ``index`` if it runs, start it again on the same port, and wait for health."""
        if self.nodes[index].running:
            await self.terminate(index)
        self._spawn(self.nodes[index])
        await self._wait_ready(self.nodes[index])

    async def stop(self) -> None:
        """Stop every node: SIGTERM, then SIGKILL whatever is still alive after the grace period."""

        def stop_one(node: Node) -> None:
            proc = node.process
            if proc is None:
                return
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)

        await asyncio.gather(*(asyncio.to_thread(stop_one, n) for n in self.nodes))

    def log_tail(self, index: int, lines: int = 60) -> str:
        """The end of node ``index``'s output (for failure messages)."""
        try:
            text = self.nodes[index].log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no output)"
        return "\n".join(text.splitlines()[-lines:])


@asynccontextmanager
async def running_nodes(count: int, *, database_url: str, redis_url: str, root: Path,
                        heartbeat_s: int = 25, extra_env: Mapping[str, str] | None = None, metrics: bool = False,
                        workers: int = 1) -> AsyncIterator[Nodes]:
    """Start ``count`` nodes, yield them, and always stop every one of them afterwards."""
    nodes = Nodes(count, database_url=database_url, redis_url=redis_url, root=root, heartbeat_s=heartbeat_s,
                  extra_env=extra_env, metrics=metrics, workers=workers)
    try:
        await nodes.start()
        yield nodes
    finally:
        await nodes.stop()


# -- users and durable events ---------------------------------------------------------------------

@dataclass(frozen=True)
class User:
    id: uuid.UUID
    token: str


async def signup_user(base_url: str, display_name: str = "Node") -> User:
    """Sign a fresh user up through REST on ``base_url``."""
    async with httpx.AsyncClient(base_url=base_url, timeout=WAIT_S) as http:
        resp = await http.post("/v1/auth/signup", json={"email": new_email(), "password": PASSWORD,
                                                        "display_name": display_name, "birthdate": "1994-02-03"})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    return User(uuid.UUID(body["user"]["id"]), body["access_token"])


class EventSource:
    """Appends durable events from outside every node, with the domain code the commands use."""

    def __init__(self, engine: AsyncEngine, redis_url: str, *, retry_buffer: int = RETRY_BUFFER) -> None:
        # fail fast while Redis is down (one immediate retry), instead of the client's default back-off
        self.redis = aioredis.Redis.from_url(redis_url, retry=Retry(NoBackoff(), 1), socket_connect_timeout=1,
                                             socket_timeout=2)
        self.publisher = RedisPublisher(self.redis, retry_buffer=retry_buffer)
        self.log = EventLog(self.publisher, SERVER_PREFIX)
        self.sessions = make_sessionmaker(engine)

    async def append(self, user_id: uuid.UUID, data: dict[str, Any], event_type: str = "test.event") -> int:
        """Store one event in its own transaction; it is published after commit. Returns its seq."""
        async with unit_of_work(self.sessions) as session:
            seq = await self.log.append(session, user_id, event_type, data)
        return seq

    async def append_batch(self, user_id: uuid.UUID, items: Sequence[dict[str, Any]],
                           event_type: str = "test.event") -> list[int]:
        """Store several events in one transaction (published in order after commit)."""
        async with unit_of_work(self.sessions) as session:
            return [await self.log.append(session, user_id, event_type, data) for data in items]

    async def control(self, user_id: uuid.UUID, op: str, **fields: Any) -> None:
        """Publish a control instruction to every node holding sockets of ``user_id``."""
        await self.log.control(user_id, op, **fields)

    async def aclose(self) -> None:
        await self.publisher.close()
        await self.redis.aclose()


@asynccontextmanager
async def event_source(engine: AsyncEngine, redis_url: str, *,
                       retry_buffer: int = RETRY_BUFFER) -> AsyncIterator[EventSource]:
    source = EventSource(engine, redis_url, retry_buffer=retry_buffer)
    try:
        yield source
    finally:
        await source.aclose()


# -- the client side ------------------------------------------------------------------------------

@dataclass
class SyncReply:
    """A ``sync`` reply and the highest seq the device had received before it arrived."""

    frame: dict[str, Any]
    max_seq_before: int

    @property
    def last_seq(self) -> int:
        return int(self.frame["data"]["last_seq"])


@dataclass
class Device:
    """One socket of a user; a background reader records every frame as it arrives."""

    ws: ClientConnection
    hello: dict[str, Any]
    seqs: list[int] = field(default_factory=list)           # every durable seq, in arrival order, duplicates too
    first_seen: dict[int, float] = field(default_factory=dict)  # seq -> monotonic time of its first arrival
    others: list[dict[str, Any]] = field(default_factory=list)  # non-durable, non-reply frames
    max_seq: int = 0
    close_code: int | None = None
    close_reason: str = ""
    _replies: dict[str, asyncio.Future[SyncReply]] = field(default_factory=dict)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _closed: asyncio.Event = field(default_factory=asyncio.Event)
    _refs: itertools.count[int] = field(default_factory=itertools.count)
    _reader: asyncio.Task[None] | None = None

    @property
    def received(self) -> set[int]:
        return set(self.first_seen)

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def start(self) -> None:
        self.max_seq = int(self.hello["data"]["last_seq"])
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for text in self.ws:
                frame = json.loads(text)
                seq = frame.get("seq")
                if isinstance(seq, int):
                    self.seqs.append(seq)
                    self.first_seen.setdefault(seq, time.monotonic())
                    self.max_seq = max(self.max_seq, seq)
                elif frame.get("type") == "reply" and frame.get("ref") in self._replies:
                    waiter = self._replies.pop(frame["ref"])
                    if not waiter.done():
                        waiter.set_result(SyncReply(frame, self.max_seq))
                else:
                    self.others.append(frame)
                self._changed.set()
        except ConnectionClosed:
            pass
        finally:
            self.close_code = self.ws.close_code
            self.close_reason = self.ws.close_reason or ""
            self._closed.set()
            self._changed.set()
            for waiter in self._replies.values():
                if not waiter.done():
                    waiter.set_exception(ConnectionError(f"socket closed with {self.close_code}"))

    async def command(self, type_: str, data: dict[str, Any], timeout_s: float = WAIT_S) -> SyncReply:
        """Send a command and wait for its reply."""
        ref = f"r{next(self._refs)}"
        waiter: asyncio.Future[SyncReply] = asyncio.get_running_loop().create_future()
        self._replies[ref] = waiter
        async with asyncio.timeout(timeout_s):
            await self.ws.send(json.dumps({"type": type_, "ref": ref, "data": data}))
            return await waiter

    async def sync(self, after: int, timeout_s: float = WAIT_S) -> SyncReply:
        """``sync`` from ``after``; asserts the reply is ok."""
        reply = await self.command("sync", {"after": after}, timeout_s)
        assert reply.frame["ok"] is True, reply.frame
        return reply

    async def wait_until(self, predicate: Callable[[], bool], timeout_s: float = WAIT_S, what: str = "") -> None:
        """Wait until ``predicate()`` holds (checked after every frame)."""
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    self._changed.clear()
                    if predicate():
                        return
                    if self.closed:
                        raise AssertionError(f"socket closed ({self.close_code}) while waiting for {what}")
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(f"not within {timeout_s}s: {what}") from None

    async def wait_for_seqs(self, seqs: Sequence[int] | set[int], timeout_s: float = WAIT_S) -> None:
        """Wait until every seq in ``seqs`` has arrived."""
        wanted = set(seqs)
        await self.wait_until(lambda: wanted <= self.first_seen.keys(), timeout_s,
                              f"seqs, missing {sorted(wanted - self.first_seen.keys())[:10]}...")

    async def wait_closed(self, timeout_s: float = WAIT_S) -> int:
        """Wait for the server to close the socket; return the close code (1006 if no close frame)."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._closed.wait()
        except TimeoutError:
            raise AssertionError(f"socket still open after {timeout_s}s") from None
        assert self.close_code is not None
        return self.close_code

    async def close(self) -> None:
        try:
            async with asyncio.timeout(WAIT_S):
                await self.ws.close()
                if self._reader is not None:
                    await self._reader
        except TimeoutError:
            if self._reader is not None:
                self._reader.cancel()


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def connect_device(ws_url: str, token: str) -> Device:
    """Open a socket, read ``hello``, and start recording."""
    async with asyncio.timeout(WAIT_S):
        ws = await connect(ws_url, additional_headers=_auth(token), open_timeout=WAIT_S, close_timeout=5)
        hello = json.loads(await ws.recv())
    assert hello["type"] == "hello", hello
    device = Device(ws, hello)
    device.start()
    return device


@asynccontextmanager
async def open_device(ws_url: str, token: str) -> AsyncIterator[Device]:
    device = await connect_device(ws_url, token)
    try:
        yield device
    finally:
        await device.close()


async def connect_stalled(ws_url: str, token: str, rcvbuf: int = 4096) -> ClientConnection:
    """A socket whose client stops reading after ``hello``: tiny kernel buffer, client queue of one."""
    host, port = ws_url.removeprefix("ws://").split("/", 1)[0].rsplit(":", 1)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)  # before connect: fixes the advertised window
    sock.setblocking(False)
    try:
        async with asyncio.timeout(WAIT_S):
            await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
            ws = await connect(ws_url, sock=sock, additional_headers=_auth(token), max_queue=1,
                               ping_interval=None, open_timeout=WAIT_S, close_timeout=2)
            hello = json.loads(await ws.recv())
    except BaseException:
        sock.close()
        raise
    assert hello["type"] == "hello", hello
    return ws


async def drain(ws: ClientConnection, timeout_s: float = 20.0) -> tuple[list[int], int | None, str]:
    """Read a socket to its end: (durable seqs received, close code, close reason)."""
    seqs: list[int] = []
    try:
        async with asyncio.timeout(timeout_s):
            async for text in ws:
                seq = json.loads(text).get("seq")
                if isinstance(seq, int):
                    seqs.append(seq)
    except ConnectionClosed:
        pass
    except TimeoutError:
        raise AssertionError(f"socket neither closed nor went quiet within {timeout_s}s "
                             f"({len(seqs)} events read)") from None
    return seqs, ws.close_code, ws.close_reason or ""
