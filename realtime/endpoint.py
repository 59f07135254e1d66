"""``GET /v1/ws``: authenticate, register with the hub, say hello, then serve the socket."""

from __future__ import annotations

import asyncio
import logging

from starlette.websockets import WebSocket

from domain.auth import service as auth
from domain.errors import AccountSuspended, DomainError
from domain.events import wire
from domain.wire.events import Hello
from infra import log_context, metrics
from infra.outages import is_unavailable
from realtime import closecodes, frames
from realtime.connection import CatchUp, Connection
from realtime.deps import RealtimeDeps, SocketConfig

log = logging.getLogger("realtime.endpoint")

AUTH_DEADLINE_S = 10.0
RESUME_PREFETCH = 100  # missed events read with the position at connect; the rest follow in pages


def origin_allowed(config: SocketConfig, origin: str | None) -> bool:
    """No Origin (native apps) is fine; a browser's must be configured, or be this server's own pages."""
    if origin is None:
        return True
    origin = origin.rstrip("/")
    return origin in config.allowed_origins or origin == config.own_origin


async def _authenticate(res: RealtimeDeps, token: str) -> auth.Principal:
    # batched with the other sockets connecting meanwhile: a reconnect storm costs a query per batch
    return await res.access.authenticate(token)


def _close_code_for(exc: DomainError) -> int:
    return closecodes.SUSPENDED if isinstance(exc, AccountSuspended) else closecodes.UNAUTHORIZED


def _resume_position(value: object) -> int | None:
    """A client's optional ``last_seq`` at connect time (a whole number >= 0), else None."""
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


async def _first_frame_auth(websocket: WebSocket) -> tuple[str, int | None] | None:
    """Wait for ``{"type":"auth","data":{"token","last_seq"?}}``; None if the client left. Raises TimeoutError."""
    async with asyncio.timeout(AUTH_DEADLINE_S):
        message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        return None
    try:
        frame = frames.parse(message.get("text") or "")
    except frames.FrameError:
        return "", None
    token = frame.data.get("token")
    if frame.type != "auth" or not isinstance(token, str):
        return "", None
    return token, _resume_position(frame.data.get("last_seq"))


async def _refuse(websocket: WebSocket, code: int, reason: str = "") -> None:
    """Close a socket that never got to ``hello``, counted by its close code."""
    metrics.socket_connects.labels(str(code)).inc()
    await websocket.close(code, reason)


async def ws_endpoint(websocket: WebSocket) -> None:
    """The socket, with a dependency outage answered as "try again later" (1013) rather than an HTTP 500."""
    try:
        await _ws_endpoint(websocket)
    except Exception as exc:
        if not is_unavailable(exc) or websocket.client_state.name == "DISCONNECTED":
            raise
        log.warning("socket refused: dependency unavailable (%s)", type(exc).__name__)
        if websocket.client_state.name == "CONNECTING":
            await websocket.accept()
        await _refuse(websocket, closecodes.SLOW_CONSUMER, "service temporarily unavailable; reconnect shortly")


async def _ws_endpoint(websocket: WebSocket) -> None:
    res: RealtimeDeps = websocket.state.realtime
    if not origin_allowed(res.config, websocket.headers.get("origin")):
        await _refuse(websocket, closecodes.POLICY)  # before accept: the upgrade is refused with 403
        return
    principal: auth.Principal | None = None
    refusal: int | None = None
    scheme, _, header_token = websocket.headers.get("authorization", "").partition(" ")
    header_token = header_token.strip() if scheme.lower() == "bearer" else ""
    if header_token:
        try:
            principal = await _authenticate(res, header_token)
        except DomainError as exc:
            refusal = _close_code_for(exc)
    await websocket.accept()
    if refusal is not None:
        await _refuse(websocket, refusal, "invalid token")
        return
    resume = _resume_position(websocket.query_params.get("last_seq"))
    if principal is None:
        try:
            first = await _first_frame_auth(websocket)
        except TimeoutError:
            await _refuse(websocket, closecodes.AUTH_TIMEOUT, "no auth frame within 10 s")
            return
        if first is None:
            return
        token, resume = first[0], first[1] if first[1] is not None else resume
        try:
            principal = await _authenticate(res, token) if token else None
        except DomainError as exc:
            await _refuse(websocket, _close_code_for(exc), "invalid token")
            return
        if principal is None:
            await _refuse(websocket, closecodes.UNAUTHORIZED, "the first frame must be auth with a token")
            return
    await serve(websocket, res, principal, resume)


async def serve(websocket: WebSocket, res: RealtimeDeps, principal: auth.Principal, resume: int | None) -> None:
    """Register the authenticated socket, send hello, and run it until it closes.

    ``resume`` is the last seq the client already has, if it said so at connect
    (``?last_seq=N`` or ``last_seq`` in the auth frame): the socket then starts
    from there and replays what was missed, in order, before anything live.
    """
    conn = Connection(websocket, res, principal, cursor=0)
    conn.set_principal(principal)
    log_context.session_id.set(str(conn.session_id))  # every line of this socket's task names it
    # subscribe first, then read the stream position: anything published in between arrives
    # live with a seq at or below the cursor and is dropped as a duplicate, so nothing is lost
    await res.hub.join(conn)
    try:
        # the position and (resuming) the first missed events in one read, batched with other connects
        position = await res.catchup.position(principal.user_id, resume, RESUME_PREFETCH)
        head = position.head
        conn.cursor = head if resume is None else min(resume, head)
        hello: Hello = {"user_id": str(principal.user_id), "session_id": str(conn.session_id),
                        "last_seq": head, "heartbeat_s": res.config.heartbeat_s}
        await websocket.send_text(wire.frame("hello", hello))
        if position.events:
            conn.replay_first(position.events, "resume")
        if len(position.events) == RESUME_PREFETCH:  # more were missed: the writer reads the rest
            conn.push(CatchUp("resume"))
        await res.presence.connected(conn)
        log.info("socket opened")
        metrics.socket_connects.labels("ok").inc()
        metrics.sockets_open.inc()
        try:
            await conn.run()
        finally:
            metrics.sockets_open.dec()
    finally:
        await res.hub.leave(conn)
        await res.presence.disconnected(conn)
        res.discovery.forget(conn)  # its state points back at the connection: no reference cycle is left
        code = conn.close_code[0] if conn.close_code is not None else None
        metrics.socket_closes.labels(str(code) if code is not None else "client").inc()
        log.info("socket closed (%s)", code or "by the client", extra={"close_code": code})
