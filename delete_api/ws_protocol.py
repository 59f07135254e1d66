"""uvicorn's websockets-sansio protocol, lighter for a server holding many idle sockets.

Four changes, each measured (docs/load.md):

- **No kept handshake.** uvicorn keeps the upgrade request and the 101 response it sent (``self.request``,
  ``self.response``) on the protocol object until the socket closes, though it reads them only while it
  answers the handshake. The protocol calls ``start_keepalive`` once, right after it has sent the 101 response;
  from then on both are dropped. The response and its header map go with it; the request stays alive anyway
  (websockets' parser generator holds it in a local). Measured with 10,000 idle sockets on one node: 28.3 ->
  26.8 KB of RSS per socket, and ~6 % fewer objects for every full garbage collection to walk.
- **No keepalive ping to a peer that spoke within the interval, and no timer per socket.** uvicorn pings every
  ``ping_interval`` after the last pong and drops a peer that does not answer within ``ping_timeout``, on a
  timer per socket. A peer that sent anything since (a frame, its own ping, a pong) is alive, so the ping
  waits until the peer has been quiet for the interval: a client that pings more often than the server would
  (``websockets`` pings every 20 s by default; the server's interval is ``heartbeat_s``, 25 s) costs no ping,
  no pong and no pong deadline. The sockets' checks share one timer per node (``keepalive_wheel``), which
  looks at each socket when its quiet spell could have reached the interval, up to a tenth of the interval
  (at most 1 s) early. The bound of CONTRACT section 2 holds: a peer that dies sent its last bytes at some
  moment ``d``; the ping goes out by ``d + interval`` and the peer is dropped by ``d + interval + timeout``,
  that is 2 x ``heartbeat_s`` (``tests/realtime/test_keepalive.py``).
- **A direct write for the app's text frames.** The scope's extension ``realtime.connection.SEND_TEXT_NOW``
  is ``send_text_now``: the socket's writer hands it each frame, which goes to the transport at once when the
  socket is open and the transport is not paused, past Starlette's and uvicorn's ASGI send (a message dict and
  their state checks) and the writer's ``asyncio.timeout`` (a timer armed and cancelled per frame). A paused
  transport (a slow peer) declines it, and the frame then takes the ASGI send, which waits for the drain under
  the writer's timeout as before.
- **The upgrade request taken parsed.** ``receive_request`` answers a head that uvicorn's HTTP protocol parsed
  already (``delete_api.upgrade_handoff``) instead of websockets parsing it a second time.
"""

from __future__ import annotations

import random
import struct
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState
from websockets.http11 import Request
from websockets.protocol import Protocol

from delete_api.keepalive_wheel import EARLY_S, KeepaliveWheel, wheel_for
from realtime.connection import SEND_TEXT_NOW


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    """The protocol of ``--ws websockets-sansio`` that forgets the handshake and pings only quiet peers."""

    heard_at = 0.0  # the loop's time when the peer last sent anything
    wheel: KeepaliveWheel | None = None  # the keepalive wheel the socket is on

    def start_keepalive(self) -> None:
        """Put the socket on the node's keepalive wheel (uvicorn would arm a timer of its own), and forget the
        handshake."""
        interval = self.ping_interval
        if interval is not None and interval > 0:
            self.wheel = wheel_for(self.loop, interval, self.ping_timeout)
            self.wheel.add(self, self.loop.time() + interval)
        forget: Any = None  # the attributes are typed as always set; nothing reads them after this point
        self.request = forget
        self.response = forget

    def stop_keepalive(self) -> None:
        super().stop_keepalive()
        if self.wheel is not None:
            self.wheel.remove(self)  # a closed socket's objects are not kept alive by the wheel
            self.wheel = None

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        if not self.close_sent:  # the upgrade was accepted: the app gets a scope
            extensions: Any = self.scope["extensions"]  # typed for ASGI's own extensions only
            extensions[SEND_TEXT_NOW] = self.send_text_now

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        scope: Any = getattr(self, "scope", None)  # set once the upgrade was answered
        if scope is not None:
            # the bound method in the scope keeps this protocol in a reference cycle: without it the protocol is
            # freed when its socket closes, not at the node's next scheduled full collection
            scope["extensions"].pop(SEND_TEXT_NOW, None)

    def send_text_now(self, text: str) -> bool:
        """Write ``text`` as one frame now, past the ASGI send (its message dict, its state checks, the caller's
        timer), when the socket is open and the transport takes data; False when it is not (paused by a slow
        peer, closing, closed), for the caller to send through ASGI, which waits for the transport to drain."""
        if self.close_sent or self.disconnected or not self.writable.is_set() or not self.handshake_complete:
            return False
        try:
            self.conn.send_text(text.encode())
        except InvalidState:  # the peer's close arrived: the ASGI path reports the disconnect
            return False
        self.transport.write(b"".join(self.conn.data_to_send()))
        return True

    def receive_request(self, request: Request) -> None:
        """Answer an upgrade request parsed already (``delete_api.upgrade_handoff``) as ``data_received`` answers
        the same head in bytes, without websockets parsing it again: its parser goes straight to the frames."""
        self.heard_at = self.loop.time()
        conn = self.conn
        conn.parser = Protocol.parse(conn)  # the frame parser ServerProtocol.parse runs after the request's head
        next(conn.parser)  # started, as websockets starts its own
        conn.events.append(request)
        self.handle_events()

    def data_received(self, data: bytes) -> None:
        self.heard_at = self.loop.time()
        super().data_received(data)

    def keepalive_check(self, now: float, step: float) -> float | None:
        """The wheel's look, up to ``step`` early: ping a peer quiet for the interval, drop one whose ping went
        unanswered for the timeout; when to look again, or None once the socket is closing or closed."""
        if self.wheel is None or self.close_sent or self.disconnected or self.transport.is_closing():
            return None
        interval, timeout = self.ping_interval, self.ping_timeout
        assert interval is not None  # on the wheel only with an interval
        if self.pending_ping_payload is not None and timeout is not None:
            deadline = self.ping_sent_at + timeout
            if now < deadline - step - EARLY_S:
                return deadline
            self.keepalive_timeout()  # uvicorn's: 1011, then the transport closed
            return None
        # uvicorn's own delay between a pong and the next ping is the interval less the last round trip
        due = max(self.heard_at, self.ping_sent_at) + interval - self.last_ping_rtt
        if now < due - step - EARLY_S:
            return due
        self._ping()
        return self.ping_sent_at + (timeout if timeout is not None else interval)

    def _ping(self) -> None:
        """uvicorn's ``send_keepalive_ping`` without its timers: a ping whose random payload the pong must echo."""
        self.pending_ping_payload = struct.pack("!I", random.getrandbits(32))
        self.ping_sent_at = self.loop.time()
        self.conn.send_ping(self.pending_ping_payload)
        self.transport.write(b"".join(self.conn.data_to_send()))
