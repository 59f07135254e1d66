"""The simulated apps of the rolling restart (``python -m bench load --restart-sockets N``, ``load_restart``): a
bare socket each on node A, durable seqs checked in order (skipped, twice or out of order); on a 1012, a resume
on node B with ``?last_seq=``, retried with jittered back-off; and opening every app's first socket at once."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
import uuid

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from bench.harness import BenchError
from bench.load_context import CONNECT_CONCURRENCY, Node, progress_every

RESTART_CODE = 1012
RECONNECT_ATTEMPTS = 30
BACKOFF_FIRST_S, BACKOFF_MAX_S = 0.05, 2.0
HELLO_TIMEOUT_S = 30.0


class App:
    """One simulated app: a bare socket; durable seqs checked in order; after a 1012, a resume on node B."""

    def __init__(self, user_id: uuid.UUID, token: str) -> None:
        self.user_id = user_id
        self.headers = {"Authorization": f"Bearer {token}"}
        self.first_head: int | None = None  # hello's last_seq on node A: events after it are owed to us
        self.last_seq = 0
        self.skipped = 0  # seqs jumped over (lost unless they arrive later, which would count as disorder)
        self.disorder = 0  # seqs received twice or out of order
        self.close_code: int | None = None
        self.closed_at: float | None = None
        self.resume_head: int | None = None  # hello's last_seq on node B
        self.resumed_at: float | None = None
        self.attempts = 0
        self.errors: list[str] = []  # why resume attempts failed
        self.failure: str | None = None
        self.done = asyncio.Event()  # resumed, or failed

    async def open(self, url: str) -> ClientConnection:
        """The first socket (node A); sets ``first_head``."""
        ws, head = await self._connect(url)
        self.first_head = self.last_seq = head
        return ws

    async def run(self, ws: ClientConnection, resume_url: str) -> None:
        """Read node A's socket until it closes, then resume on node B and read on."""
        try:
            await self._read(ws)
            self.close_code, self.closed_at = ws.close_code, time.monotonic()
            if self.close_code != RESTART_CODE:
                raise BenchError(f"closed with {self.close_code}, not {RESTART_CODE}")
            ws = await self._resume(resume_url)
            self._check_resumed()
            await self._read(ws)
        except Exception as exc:
            self.failure = f"{type(exc).__name__}: {exc}"[:200]
            self.done.set()

    async def _connect(self, url: str) -> tuple[ClientConnection, int]:
        ws = await connect(url, additional_headers=self.headers, compression=None, ping_interval=None,
                           open_timeout=HELLO_TIMEOUT_S, close_timeout=2, max_queue=None)
        try:
            async with asyncio.timeout(HELLO_TIMEOUT_S):
                hello = json.loads(await ws.recv())
            if hello.get("type") != "hello":
                raise BenchError(f"expected hello, got {str(hello)[:200]}")
        except BaseException:
            ws.transport.abort()
            raise
        return ws, int(hello["data"]["last_seq"])

    async def _resume(self, url: str) -> ClientConnection:
        for attempt in range(RECONNECT_ATTEMPTS):
            if attempt:
                delay = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** (attempt - 1))
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            self.attempts += 1
            try:
                ws, self.resume_head = await self._connect(f"{url}?last_seq={self.last_seq}")
            except (OSError, TimeoutError, InvalidHandshake, ConnectionClosed) as exc:
                code = getattr(getattr(exc, "rcvd", None), "code", None)  # a close before hello (e.g. 1013)
                self.errors.append(f"{type(exc).__name__} {code}" if code else type(exc).__name__)
                continue
            return ws
        raise BenchError(f"no resume after {RECONNECT_ATTEMPTS} attempts")

    async def _read(self, ws: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for text in ws:
                seq = json.loads(text).get("seq")
                if seq is not None:
                    self._take(int(seq))

    def _take(self, seq: int) -> None:
        if seq <= self.last_seq:
            self.disorder += 1
            return
        self.skipped += seq - self.last_seq - 1
        self.last_seq = seq
        self._check_resumed()

    def _check_resumed(self) -> None:
        if self.resumed_at is None and self.resume_head is not None and self.last_seq >= self.resume_head:
            self.resumed_at = time.monotonic()
            self.done.set()


async def open_all(apps: list[App], node: Node) -> list[ClientConnection]:
    """Every app's first socket, on ``node`` (node A), ``CONNECT_CONCURRENCY`` at a time; fail if any cannot open."""
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    progress = progress_every(max(1, len(apps) // 5), len(apps), "restart: sockets open on node A")
    done = 0

    async def one(app: App) -> ClientConnection:
        nonlocal done
        async with gate:
            ws = await app.open(node.ws_url)
        done += 1
        progress(done)
        return ws

    results = await asyncio.gather(*(one(a) for a in apps), return_exceptions=True)
    sockets = [r for r in results if isinstance(r, ClientConnection)]
    failed = [r for r in results if not isinstance(r, ClientConnection)]
    if failed:
        for ws in sockets:
            ws.transport.abort()
        raise BenchError(f"{len(failed)} of {len(apps)} sockets did not open on node A: {failed[0]!r}")
    return sockets
