"""One authenticated socket: a reader, a writer, a bounded outbox and the durable cursor.

Everything sent on the socket goes through the outbox and the single writer
task, so ordering is decided in one place (a reply or the next durable event
pushed while the writer waits with nothing queued is written at once by the
pusher, exactly what the writer would send next, without waking it):

- durable events are sent strictly in ``seq`` order: a duplicate (seq at or
  below the cursor) is dropped, a gap is filled from PostgreSQL first (if seq n
  is committed, every lower seq of that user is too);
- ``sync`` runs as a job in the same outbox, so events published while it
  replays wait behind it and are neither lost nor reordered;
- when the outbox overflows (a consumer too slow to keep up) the socket is
  closed with 1013 ("try again later"); the client reconnects and syncs.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import SQLAlchemyError
from starlette.websockets import WebSocket

from domain.auth.service import Principal
from domain.errors import DomainError, RateLimited
from domain.events import wire
from domain.quoting import listed, quote
from domain.wire.errors import ErrorBody
from infra import log_context, metrics
from infra.validation_details import validation_details
from realtime import frames
from realtime.closecodes import ABUSE, INTERNAL_ERROR, SLOW_CONSUMER, TOKEN_EXPIRED
from realtime.context import CommandContext
from realtime.deps import RealtimeDeps
from realtime.ratelimit import CommandLimiter
from realtime.registry import REGISTRY, Command

log = logging.getLogger("realtime.connection")

OUTBOX_LIMIT = 512
REPLAY_PAGE = 500
SEND_TIMEOUT_S = 10.0
CLOSE_DRAIN_S = 5.0
CLOSE_FRAME_WAIT_S = 30.0
# the ASGI extension under which the server's protocol offers ``send_text_now(text) -> bool``: the frame written
# at once when the socket is open and its transport takes data, False when not (the caller then sends through
# ASGI, waiting up to SEND_TIMEOUT_S for the transport to drain); delete_api/ws_protocol.py provides it
SEND_TEXT_NOW = "delete.send_text_now"


@dataclass(frozen=True, slots=True)
class Durable:
    seq: int
    frame: str
    published_ms: int | None = None  # when the publisher sent it (the delivery lag's start)


@dataclass(frozen=True, slots=True)
class SyncJob:
    ref: frames.Ref
    after: int


@dataclass(frozen=True, slots=True)
class CatchUp:
    reason: str = "catchup"  # resume (last_seq at connect) or catchup (after a Redis resubscription)


@dataclass(frozen=True, slots=True)
class Close:
    code: int
    reason: str


Item = str | Durable | SyncJob | CatchUp | Close


def _invalid_fields(details: dict[str, Any]) -> ErrorBody:
    """A ``validation_error`` naming the fields of ``details["fields"]``."""
    fields: dict[str, str] = details["fields"]
    return {"code": "validation_error", "message": "invalid fields: " + ", ".join(fields), "details": details}


class Connection:
    """The state of one socket between ``hello`` and close."""

    def __init__(self, ws: WebSocket, deps: RealtimeDeps, principal: Principal, cursor: int) -> None:
        self.ws = ws
        self.deps = deps
        self.events = deps.events
        self.principal = principal
        self.user_key = str(principal.user_id)
        self.session_id = uuid.uuid4()
        self.cursor = cursor
        # a bare deque and one waiter future: an idle socket should cost as little memory as possible
        self.outbox: deque[Item] = deque()
        self._wakeup: asyncio.Future[None] | None = None
        self.limiter = CommandLimiter()
        self.close_code: tuple[int, str] | None = None
        self.closing = False  # a Close is queued: stop reading commands
        self.data: dict[str, Any] = {}  # per-socket state of features (discovery credits, moderation feed)
        self._writer: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[Any] | None = None
        self._expiry: asyncio.TimerHandle | None = None
        self._send_now: Callable[[str], bool] | None = ws.scope.get("extensions", {}).get(SEND_TEXT_NOW)

    # -- called by the hub and by handlers (never blocks) ------------------
    def on_message(self, kind: wire.Kind, seq: int, payload: str, published_ms: int | None = None) -> None:
        if kind == "D":
            self.push(Durable(seq, payload, published_ms))
        elif kind == "E":
            metrics.labelled(metrics.events_delivered, "ephemeral").inc()
            self.push(payload)
        else:
            self._control(payload)

    def on_resubscribed(self) -> None:
        self.push(CatchUp())

    def replay_first(self, events: list[tuple[int, str]], reason: str) -> None:
        """Send these stored ``(seq, frame)`` events before anything queued (read before the writer starts).

        Live events already queued wait behind them; those at or below their seqs are dropped as duplicates.
        """
        self.outbox.extendleft(Durable(seq, text) for seq, text in reversed(events))
        metrics.replays.labels(reason).inc()
        metrics.replayed_events.labels(reason).inc(len(events))

    def push(self, item: Item) -> None:
        """Queue ``item`` for the writer; a full outbox closes the socket as too slow."""
        if self.close_code is not None:
            return
        wakeup = self._wakeup
        if wakeup is not None and not wakeup.done() and not self.outbox and self._sent_now(item):
            return
        if len(self.outbox) >= OUTBOX_LIMIT:
            metrics.slow_consumer_closes.inc()
            self.close(SLOW_CONSUMER, "too slow to keep up; reconnect and sync")
            return
        self.outbox.append(item)
        wakeup = self._wakeup
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)

    def _sent_now(self, item: Item) -> bool:
        """With the writer idle (waiting, nothing queued), write a reply or the next durable event at once, as the
        writer would next, without waking it; False when the transport does not take it (the writer then does)."""
        send_now = self._send_now
        if send_now is None:
            return False
        if isinstance(item, str):
            return send_now(item)
        if isinstance(item, Durable) and item.seq == self.cursor + 1 and send_now(item.frame):
            self._delivered(item)
            return True
        return False

    def close(self, code: int, reason: str) -> None:
        """Close the socket with ``code`` as soon as possible (the writer stops sending)."""
        if self.close_code is not None:
            return
        self.close_code = (code, reason)
        if self._writer is not None:
            self._writer.cancel()

    def close_after_pending(self, code: int, reason: str) -> None:
        """Close once everything already queued (e.g. an ``account.suspended`` event) was sent."""
        if self.closing:
            return
        self.closing = True
        if len(self.outbox) >= OUTBOX_LIMIT:
            self.close(code, reason)
            return
        self.push(Close(code, reason))

    def _control(self, payload: str) -> None:
        try:
            op = json.loads(payload)
        except ValueError:
            return
        if op.get("op") == "close":
            self.close_after_pending(int(op.get("code", 4403)), str(op.get("reason", "closed")))
        elif op.get("op") == "revoke" and op.get("family") == str(self.principal.family_id):
            self.close_after_pending(TOKEN_EXPIRED, "signed out")
        elif op.get("op") == "revoke_logins" and str(self.principal.family_id) not in op.get("keep", ()):
            self.close_after_pending(TOKEN_EXPIRED, "signed out: the password changed")

    # -- token expiry ----------------------------------------------------------
    def set_principal(self, principal: Principal) -> None:
        """Adopt a (renewed) token and schedule the close for when it expires."""
        self.principal = principal
        if self._expiry is not None:
            self._expiry.cancel()
        delay = max(0.0, principal.expires_at.timestamp() - time.time())
        self._expiry = asyncio.get_running_loop().call_later(
            delay, self.close, TOKEN_EXPIRED, "access token expired; reconnect with a new token")

    # -- running ------------------------------------------------------------
    async def run(self) -> None:
        """Serve the socket until either side ends it; then close with the decided code.

        The reader runs in the caller's task and the writer in one task of its own; when the
        writer ends (a close was decided, or the peer is gone) it cancels the reader.
        """
        if self.close_code is not None:  # decided before we started (e.g. the token expired meanwhile)
            code, reason = self.close_code
            await self.ws.close(code, reason)
            return
        self._reader = asyncio.current_task()
        writer = self._writer = asyncio.create_task(self._write_loop())
        writer.add_done_callback(self._writer_ended)
        try:
            await self._read_loop()
            self._reader = None
            if self.closing and not writer.done():
                # a Close is queued behind replies/events the client should still get: let them drain
                await asyncio.wait({writer}, timeout=CLOSE_DRAIN_S)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if self._reader is None or task is None or task.cancelling() > 1 or not writer.done():
                raise  # cancelled from outside (server shutdown), not by our writer
            task.uncancel()
        finally:
            self._reader = None
            writer.cancel()
            try:
                await writer
            except (asyncio.CancelledError, Exception):  # noqa: S110 - closing anyway
                pass
            if self._expiry is not None:
                self._expiry.cancel()
            if self.close_code is not None:
                code, reason = self.close_code
                try:
                    # a slow peer's transport is paused until it reads: the close frame waits behind the data
                    # already buffered, so a client that catches up still learns why (e.g. 1013) within this bound
                    async with asyncio.timeout(CLOSE_FRAME_WAIT_S):
                        await self.ws.close(code, reason)
                except Exception:  # noqa: S110 - the peer is gone or stuck; uvicorn drops it
                    pass

    def _writer_ended(self, writer: asyncio.Task[None]) -> None:
        exc = None if writer.cancelled() else writer.exception()
        benign = isinstance(exc, OSError | TimeoutError) or type(exc).__name__ == "ClientDisconnected"
        if exc is not None and not benign:
            log.error("socket writer failed", exc_info=exc)
            if self.close_code is None:
                self.close_code = (INTERNAL_ERROR, "internal error; reconnect and sync")
        if self._reader is not None:
            self._reader.cancel()

    async def _read_loop(self) -> None:
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                self.push(frames.reply_error(None, {"code": "bad_request",
                                                    "message": "binary frames are not accepted; send JSON text"}))
                continue
            await self._handle(text)
            if self.closing or self.close_code is not None:
                return

    async def _handle(self, text: str) -> None:
        try:
            frame = frames.parse(text)
        except frames.FrameError as exc:
            self.push(frames.reply_error(exc.ref, {"code": "bad_request", "message": exc.message}))
            return
        if not self._admitted(frame.ref):
            return
        command = REGISTRY.commands.get(frame.type)
        if command is None:
            self.push(frames.reply_error(frame.ref, {"code": "bad_request",
                                                     "message": f"unknown command type {quote(frame.type)!r}"}))
            return
        refusal = self._refusal(frame, command)
        if refusal is not None:
            self.push(frames.reply_error(frame.ref, refusal))
            return
        try:
            data = command.model.model_validate(frame.data)
        except ValidationError as exc:
            self.push(frames.reply_error(frame.ref, _invalid_fields(validation_details(exc))))
            return
        await self._run(command, frame.ref, data)

    def _admitted(self, ref: frames.Ref) -> bool:
        """Count one command against the rate limit; when over it, reply ``rate_limited`` or close an abuser."""
        wait = self.limiter.admit(time.monotonic())
        if not wait:
            return True
        if self.limiter.abusive():
            self.close_after_pending(ABUSE, "too many commands")
            return False
        err = RateLimited("too many commands; slow down", retry_after_s=wait)
        self.push(frames.reply_error(ref, {"code": "rate_limited", "message": err.message,
                                           "details": {"retry_after_s": round(wait, 3)}}))
        return False

    def _refusal(self, frame: frames.ClientFrame, command: Command) -> ErrorBody | None:
        """The error refusing a known command before its data is validated (wrong role, unreadable text)."""
        if command.role is not None and self.principal.role != command.role:
            return {"code": "forbidden", "message": f"{frame.type} needs the {command.role} role"}
        if frame.invalid_text:
            unreadable = dict.fromkeys(frame.invalid_text, "contains unpaired surrogates (not valid Unicode text)")
            return _invalid_fields({"fields": listed(unreadable)})  # at most 20 named, as validation_details
        return None

    async def _run(self, command: Command, ref: frames.Ref, data: BaseModel) -> None:
        """Run a command under its log context; a debug line gives its duration and outcome."""
        token = log_context.command.set(command.type)
        started = time.perf_counter()
        try:
            code = await self._execute(command, ref, data)
            seconds = time.perf_counter() - started
            metrics.labelled(metrics.commands, command.type, code or "ok").inc()
            metrics.labelled(metrics.command_duration, command.type).observe(seconds)
            if log.isEnabledFor(logging.DEBUG):
                fields: dict[str, object] = {"duration_ms": round(seconds * 1000, 2),
                                             "outcome": "ok" if code is None else "error"}
                if code is not None:
                    fields["error_code"] = code
                log.debug("command %s: %s", command.type, code or "ok", extra=fields)
        finally:
            log_context.command.reset(token)

    async def _execute(self, command: Command, ref: frames.Ref, data: BaseModel) -> str | None:
        """Run a command's handler and reply with its result or its error; the error's code, if any."""
        try:
            result = await command.handler(CommandContext(self, ref), data)
        except DomainError as exc:
            self.push(frames.reply_error(ref, exc.to_dict()))
            return exc.code
        except Exception:
            log.exception("command %s failed", command.type)
            self.push(frames.reply_error(ref, {"code": "internal", "message": "something went wrong on our side"}))
            return "internal"
        if result is not None:
            self.push(frames.reply_ok(ref, result))
        return None

    async def _write_loop(self) -> None:
        outbox = self.outbox
        loop = asyncio.get_running_loop()
        while True:
            if not outbox:
                self._wakeup = loop.create_future()
                await self._wakeup
                self._wakeup = None
                continue
            item = outbox.popleft()
            if isinstance(item, str):
                await self._send(item)
            elif isinstance(item, Durable):
                await self._deliver(item)
            elif isinstance(item, SyncJob):
                await self._sync(item)
            elif isinstance(item, CatchUp):
                await self._replay(item.reason, after=self.cursor)
            else:
                self.close_code = (item.code, item.reason)
                return

    async def _send(self, text: str) -> None:
        send_now = self._send_now
        if send_now is not None and send_now(text):  # no layers, no timer: the transport took the frame
            return
        async with asyncio.timeout(SEND_TIMEOUT_S):
            await self.ws.send_text(text)

    async def _deliver(self, event: Durable) -> None:
        if event.seq <= self.cursor:
            return
        if event.seq > self.cursor + 1:
            await self._replay("gap", after=self.cursor, up_to=event.seq - 1)
        await self._send(event.frame)
        self._delivered(event)

    def _delivered(self, event: Durable) -> None:
        self.cursor = event.seq
        metrics.labelled(metrics.events_delivered, "durable").inc()
        if event.published_ms is not None:
            metrics.delivery_lag.observe(max(0.0, time.time() - event.published_ms / 1000))

    async def _replay(self, reason: str, after: int, up_to: int | None = None) -> None:
        """``_send_stored``, counted as a replay of ``reason``."""
        last = await self._send_stored(after=after, up_to=up_to)
        metrics.replays.labels(reason).inc()
        metrics.replayed_events.labels(reason).inc(last - after)  # seqs are consecutive: no gap to count around

    async def _send_stored(self, after: int, up_to: int | None = None) -> int:
        """Send stored events after ``after`` (to ``up_to``) in order; return the last seq sent."""
        last = after
        while True:
            # batched with the replays of other sockets (a reconnect storm's syncs): one query for all
            rows = await self.deps.catchup.replay(self.principal.user_id, last, REPLAY_PAGE, up_to)
            for seq, text in rows:
                await self._send(text)
                last = seq
                self.cursor = max(self.cursor, seq)
            if len(rows) < REPLAY_PAGE:
                return last

    async def _sync(self, job: SyncJob) -> None:
        try:
            await self._replay("sync", after=job.after)
        except (SQLAlchemyError, OSError) as exc:  # e.g. PostgreSQL away: answer, keep the socket
            log.warning("sync replay failed (%s)", type(exc).__name__)
            await self._send(frames.reply_error(job.ref, {"code": "internal",
                                                          "message": "events are unavailable right now; retry"}))
            return
        await self._send(frames.reply_ok(job.ref, {"last_seq": self.cursor}))
