"""A Python client for ``/v1/ws``: refs and replies, durable events deduped by ``seq``, resume with ``sync``.

One reader task per client routes every frame: a ``reply`` to the ``call``
waiting on its ref, anything else to a bounded event queue. Durable events
(those with a ``seq``) are deduped against ``last_seq``. When the socket drops
with a code that means "come back" (1006, 1011, 1012, 1013) the reader
reconnects with back-off, rotating through the given URLs, and sends
``sync {after: last_seq}``; while that replay is in flight a live event that
would leave a gap is dropped, because the replay brings it in order.
Commands are never retried (they may not be idempotent).

Errors::

    ClientError   a reply with ok:false (.code, .message, .details, .ref)
    Closed        the socket closed for good (.code, .reason)
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import random
from collections import deque
from collections.abc import AsyncIterator, Sequence
from types import TracebackType
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.typing import Origin

log = logging.getLogger("delete_client")

RECONNECT_CODES = frozenset({1006, 1011, 1012, 1013})
HELLO_TIMEOUT_S = 10.0
CLOSE_TIMEOUT_S = 5.0
RECONNECT_ATTEMPTS = 20
BACKOFF_FIRST_S = 0.05
BACKOFF_MAX_S = 2.0


class ClientError(Exception):
    """The server answered a command with ``ok: false``."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None,
                 ref: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details or {}
        self.ref = ref


class Closed(Exception):
    """The socket closed (``code`` is the close code, 1006 when no close frame came)."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"socket closed ({code}): {reason}")
        self.code = code
        self.reason = reason


class DeleteClient:
    """One logical connection to ``/v1/ws`` that survives restarts of the server (see module docstring)."""

    def __init__(self, url: str | Sequence[str], token: str, *, header_auth: bool = True,
                 origin: str | None = None, auto_resume: bool = True, last_seq: int | None = None,
                 event_queue: int = 10_000, reconnect_attempts: int = RECONNECT_ATTEMPTS) -> None:
        self._urls = [url] if isinstance(url, str) else list(url)
        if not self._urls:
            raise ValueError("at least one URL is needed")
        self._url_index = 0
        self._token = token
        self.header_auth = header_auth
        self.origin = origin
        self.auto_resume = auto_resume
        # None: a fresh install, which starts at the head of the stream; a number (0 too): the stored seq
        self.last_seq = 0 if last_seq is None else last_seq
        self._fresh = last_seq is None
        self.hello: dict[str, Any] | None = None
        self.close_code: int | None = None  # the code of the latest close received from the server
        self.reconnects = 0
        self._event_limit = event_queue
        self._reconnect_attempts = reconnect_attempts
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._refs = itertools.count(1)
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._events: deque[dict[str, Any]] = deque()
        self._changed = asyncio.Event()  # set on every new event and state change
        self._resync_ref: str | None = None  # the resume ``sync`` in flight
        self._failure: Closed | None = None  # set once the client is closed for good
        self._closing = False

    # -- lifecycle ---------------------------------------------------------------------------
    async def connect(self) -> dict[str, Any]:
        """Open and authenticate the socket, replay what was missed after ``last_seq``; return hello data."""
        if self._reader is not None:
            raise RuntimeError("connect() was already called")
        hello = await self._open(self._urls[0])
        if self._fresh:
            self.last_seq = int(hello.get("last_seq", 0))  # a fresh install starts at the head of the stream
            self._fresh = False
        self._reader = asyncio.create_task(self._read_loop(), name="delete-client-reader")
        try:
            resync = await self._resync_if_behind()
            if resync is not None:
                await asyncio.wait_for(asyncio.shield(resync), HELLO_TIMEOUT_S)
        except BaseException:
            await self.close()
            raise
        return hello

    async def close(self) -> None:
        """Close the socket and stop the reader; waiting calls and iterators get ``Closed``."""
        self._closing = True
        ws = self._ws
        if ws is not None:
            try:
                await asyncio.wait_for(ws.close(), CLOSE_TIMEOUT_S)
            except (TimeoutError, OSError):
                ws.transport.abort()
        reader = self._reader
        if reader is not None and not reader.done():
            reader.cancel()
            try:
                await reader
            except asyncio.CancelledError:
                pass
        self._finish(Closed(1000, "closed by the client"))

    async def __aenter__(self) -> DeleteClient:
        await self.connect()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    # -- commands ----------------------------------------------------------------------------
    async def call(self, type: str, data: dict[str, Any] | None = None, *,
                   timeout: float = 10.0) -> dict[str, Any]:  # noqa: ASYNC109 - every wait has a default deadline
        """Send a command and return its reply's data; raise ``ClientError`` or ``Closed``."""
        async with asyncio.timeout(timeout):
            ws = await self._live()
            ref, future = self._expect()
            try:
                await self._send(ws, {"type": type, "ref": ref, "data": data or {}})
                return await future
            finally:
                self._pending.pop(ref, None)

    async def renew(self, token: str) -> dict[str, Any]:
        """Give the live socket a fresh access token (also used for later reconnects)."""
        reply = await self.call("auth", {"token": token})
        self._token = token
        return reply

    # -- events ------------------------------------------------------------------------------
    async def events(self) -> AsyncIterator[dict[str, Any]]:
        """Yield every event in arrival order (durable ones once each); raise ``Closed`` at the end."""
        while True:
            yield await self._take(None, None)

    async def next_event(self, type: str | None = None, *,
                         timeout: float = 10.0) -> dict[str, Any]:  # noqa: ASYNC109 - as call()
        """The next event (of ``type``, if given); events of other types stay queued for later."""
        return await self._take(type, timeout)

    async def _take(self, type: str | None, deadline_s: float | None) -> dict[str, Any]:
        async with asyncio.timeout(deadline_s):
            while True:
                event = self._pop(type)
                if event is not None:
                    return event
                if self._failure is not None:
                    raise Closed(self._failure.code, self._failure.reason)
                self._changed.clear()
                await self._changed.wait()

    def _pop(self, type: str | None) -> dict[str, Any] | None:
        if not self._events:
            return None
        if type is None:
            return self._events.popleft()
        for i, event in enumerate(self._events):
            if event.get("type") == type:
                del self._events[i]
                return event
        return None

    # -- the socket ----------------------------------------------------------------------------
    async def _open(self, url: str) -> dict[str, Any]:
        """Connect, authenticate and read hello; raise ``Closed``, ``OSError`` or ``TimeoutError``."""
        headers = {"Authorization": f"Bearer {self._token}"} if self.header_auth else None
        try:
            ws = await connect(url, additional_headers=headers, origin=Origin(self.origin) if self.origin else None,
                               compression=None, open_timeout=HELLO_TIMEOUT_S, close_timeout=CLOSE_TIMEOUT_S)
        except InvalidStatus as exc:
            status = exc.response.status_code
            raise Closed(1008 if status == 403 else 1011, f"upgrade refused with HTTP {status}") from None
        except InvalidHandshake as exc:
            raise Closed(1002, f"handshake failed: {exc}") from None
        try:
            async with asyncio.timeout(HELLO_TIMEOUT_S):
                if not self.header_auth:
                    await ws.send(json.dumps({"type": "auth", "data": {"token": self._token}}))
                text = await ws.recv()
        except ConnectionClosed as exc:
            raise _closed(exc) from None
        except TimeoutError:
            ws.transport.abort()
            raise
        frame = json.loads(text)
        if frame.get("type") != "hello":
            await ws.close(1002, "expected hello")
            raise Closed(1002, f"expected hello, got {frame.get('type')!r}")
        self._ws = ws
        self.hello = frame["data"]
        return self.hello

    async def _live(self) -> ClientConnection:
        """The open socket, waiting through a reconnect; ``Closed`` once the client is closed for good."""
        while True:
            if self._failure is not None:
                raise Closed(self._failure.code, self._failure.reason)
            if self._reader is None:
                raise RuntimeError("call connect() first")
            if self._ws is not None:
                return self._ws
            self._changed.clear()
            await self._changed.wait()

    def _expect(self) -> tuple[str, asyncio.Future[dict[str, Any]]]:
        ref = f"c{next(self._refs)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[ref] = future
        return ref, future

    @staticmethod
    async def _send(ws: ClientConnection, frame: dict[str, Any]) -> None:
        try:
            await ws.send(json.dumps(frame, separators=(",", ":")))
        except ConnectionClosed as exc:
            raise _closed(exc) from None

    async def _resync_if_behind(self) -> asyncio.Future[dict[str, Any]] | None:
        """Send ``sync {after: last_seq}`` when hello shows newer events; return its reply future (not awaited).

        Until that reply, a live event that would leave a gap is dropped: the replay brings it in order.
        """
        assert self._ws is not None and self.hello is not None
        if int(self.hello.get("last_seq", 0)) <= self.last_seq:
            return None  # nothing was missed; live events continue at last_seq + 1
        ref, future = self._expect()
        future.add_done_callback(_retrieve)
        self._resync_ref = ref
        await self._send(self._ws, {"type": "sync", "ref": ref, "data": {"after": self.last_seq}})
        return future

    async def _read_loop(self) -> None:
        while True:
            ws = self._ws
            assert ws is not None
            try:
                while True:
                    fatal = self._route(await ws.recv())
                    if fatal is not None:
                        self._finish(fatal)
                        await ws.close(1000, fatal.reason[:100])
                        self._ws = None
                        return
            except ConnectionClosed as exc:
                closed = _closed(exc)
            self._ws = None
            self._resync_ref = None
            self._fail_pending(closed)
            if self._closing:
                return
            self.close_code = closed.code
            if not self.auto_resume or closed.code not in RECONNECT_CODES:
                self._finish(closed)
                return
            try:
                await self._reconnect(closed)
                await self._resync_if_behind()
            except Closed as exc:
                if self._ws is None or exc.code not in RECONNECT_CODES:
                    self._finish(exc)
                    return
                # the new socket dropped while sending sync: the loop reads its close and decides again

    async def _reconnect(self, closed: Closed) -> None:
        """Reopen the socket on the next URL, with jittered exponential back-off between attempts."""
        last = closed
        for attempt in range(self._reconnect_attempts):
            if attempt:
                delay = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** (attempt - 1))
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            self._url_index = (self._url_index + 1) % len(self._urls)
            try:
                await self._open(self._urls[self._url_index])
            except Closed as exc:
                if exc.code not in RECONNECT_CODES:
                    raise
                last = exc
            except (OSError, TimeoutError) as exc:
                last = Closed(1006, f"{type(exc).__name__}: {exc}")
            else:
                self.reconnects += 1
                log.info("reconnected (attempt %d); syncing after seq %d", attempt + 1, self.last_seq)
                self._changed.set()
                return
        raise Closed(last.code, f"gave up after {self._reconnect_attempts} reconnect attempts: {last.reason}")

    def _route(self, message: str | bytes) -> Closed | None:
        """Hand one frame to its waiting call or to the event queue; a ``Closed`` when the queue is full."""
        try:
            frame = json.loads(message)
        except ValueError:
            log.warning("dropped a frame that is not JSON")
            return None
        if not isinstance(frame, dict):
            return None
        if frame.get("type") == "reply":
            return self._reply(frame)
        seq = frame.get("seq")
        if isinstance(seq, int):
            if seq <= self.last_seq:
                return None  # already delivered
            if self._resync_ref is not None and seq != self.last_seq + 1:
                return None  # the replay in flight delivers it in order
        if len(self._events) >= self._event_limit:
            return Closed(1013, f"client event queue full ({self._event_limit} unread events); "
                                "read events() faster or raise event_queue, then resume from last_seq")
        if isinstance(seq, int):
            self.last_seq = seq
        self._events.append(frame)
        self._changed.set()
        return None

    def _reply(self, frame: dict[str, Any]) -> Closed | None:
        ref = frame.get("ref")
        fatal = None
        if ref is not None and ref == self._resync_ref:
            self._resync_ref = None
            if not frame.get("ok"):
                fatal = Closed(1011, f"resume sync failed: {frame.get('error')}")
        future = self._pending.pop(ref, None) if isinstance(ref, str) else None
        if future is None or future.done():
            if ref is None:
                log.warning("reply without ref: %s", frame.get("error"))
            return fatal
        if frame.get("ok"):
            future.set_result(frame.get("data") or {})
        else:
            error = frame.get("error") or {}
            future.set_exception(ClientError(str(error.get("code", "internal")), str(error.get("message", "")),
                                             error.get("details"), ref))
        return fatal

    def _fail_pending(self, closed: Closed) -> None:
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(Closed(closed.code, closed.reason))

    def _finish(self, closed: Closed) -> None:
        """Close the client for good: waiters and iterators get ``closed`` once the queue is drained."""
        if self._failure is None:
            self._failure = closed
        self._fail_pending(closed)
        self._changed.set()


def _closed(exc: ConnectionClosed) -> Closed:
    if exc.rcvd is None:
        return Closed(1006, "the connection dropped without a close frame")
    return Closed(exc.rcvd.code, exc.rcvd.reason)


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark a background future's exception as seen (it is handled where the future is awaited)."""
    if not future.cancelled():
        future.exception()
