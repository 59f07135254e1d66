"""What the fuzz and abuse suites share: server-side error capture, a paced socket, process memory."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

SERVER_LOGGERS = ("rest", "realtime", "domain", "delete_api", "uvicorn", "asyncio")
T = 10.0  # seconds any single await may take


class ErrorLog(logging.Handler):
    """Collects ERROR records (with tracebacks) that server code logs while it is installed."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".", 1)[0] in SERVER_LOGGERS:
            self.records.append(record)

    def since(self, mark: int) -> list[logging.LogRecord]:
        return self.records[mark:]

    @staticmethod
    def describe(record: logging.LogRecord) -> str:
        exc = record.exc_info[1] if record.exc_info else None
        return f"{record.name}: {record.getMessage().strip()[:200]}" + (f" ({exc!r:.300})" if exc else "")


@contextmanager
def server_errors() -> Iterator[ErrorLog]:
    """Install an ``ErrorLog`` on the root logger and on uvicorn's (which does not propagate)."""
    handler = ErrorLog()
    targets = [logging.getLogger(), logging.getLogger("uvicorn"), logging.getLogger("uvicorn.error")]
    for logger in targets:
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger in targets:
            logger.removeHandler(handler)


class Pacer:
    """A client-side token bucket kept under the server's per-socket limit (20/s, bursts of 40)."""

    def __init__(self, rate: float = 15.0, burst: float = 10.0) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.updated = burst, time.monotonic()

    async def take(self, n: float = 1.0) -> None:
        while True:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens >= n:
                self.tokens -= n
                return
            await asyncio.sleep((n - self.tokens) / self.rate)


@dataclass
class Exchange:
    """What came back for one frame followed by a ping."""

    replies: list[dict[str, Any]] = field(default_factory=list)  # replies before the ping's, in order
    ping: dict[str, Any] | None = None
    closed: tuple[int | None, str] | None = None  # (code, reason) if the socket ended instead


class PacedSocket:
    """One authenticated socket that sends a frame, then a ping, and reads up to the ping's reply."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token
        self.ws: ClientConnection | None = None
        self.pacer = Pacer()
        self.pings = 0
        self.reconnects = 0

    async def open(self) -> None:
        async with asyncio.timeout(T):
            self.ws = await connect(self.url, additional_headers={"Authorization": f"Bearer {self.token}"},
                                    max_size=None, open_timeout=T, close_timeout=2)
            hello = json.loads(await self.ws.recv())
        assert hello["type"] == "hello", hello

    async def reopen(self) -> None:
        await self.close()
        self.reconnects += 1
        self.pacer = Pacer()
        await self.open()

    async def close(self) -> None:
        if self.ws is not None:
            try:
                async with asyncio.timeout(T):
                    await self.ws.close()
            except (TimeoutError, OSError):
                pass
            self.ws = None

    async def exchange(self, text: str, wait_s: float = T) -> Exchange:
        """Send ``text`` then ``ping``; collect replies until the ping's (retried while rate limited)."""
        assert self.ws is not None
        out = Exchange()
        await self.pacer.take(2)
        try:
            await self.ws.send(text)
            while True:
                self.pings += 1
                ref = f"ping-{self.pings}"
                await self.ws.send(json.dumps({"type": "ping", "ref": ref}))
                frame = await self._until_reply(ref, out, wait_s)
                if frame is None:
                    return out
                if frame.get("ok") is False and frame["error"]["code"] == "rate_limited":
                    await asyncio.sleep(float(frame["error"]["details"]["retry_after_s"]) + 0.05)
                    continue
                out.ping = frame
                return out
        except ConnectionClosed as exc:
            out.closed = (exc.rcvd.code if exc.rcvd else None, exc.rcvd.reason if exc.rcvd else "")
            return out

    async def _until_reply(self, ref: str, out: Exchange, wait_s: float) -> dict[str, Any] | None:
        assert self.ws is not None
        try:
            async with asyncio.timeout(wait_s):
                while True:
                    frame: dict[str, Any] = json.loads(await self.ws.recv())
                    if frame.get("type") != "reply":
                        continue  # pushed events (cards, moderation feed, ...)
                    if frame.get("ref") == ref:
                        return frame
                    out.replies.append(frame)
        except TimeoutError:
            return None


def rss_kib(pid: int) -> int:
    """Resident memory of process ``pid`` in KiB (Linux ``/proc``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def open_fds(pid: int) -> int:
    """How many file descriptors process ``pid`` holds."""
    return len(list(Path(f"/proc/{pid}/fd").iterdir()))
