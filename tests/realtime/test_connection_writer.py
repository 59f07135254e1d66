"""The socket's writer: frames leave in the order they were pushed, whether the pusher writes one at once (the
writer idle, the transport taking it) or the writer sends it through ASGI (the transport paused by a slow peer).

The socket here is Starlette's over an ASGI channel of the test's own, whose direct-write extension stands for
the server protocol's (``delete_api/ws_protocol.py``, exercised on a live server in ``tests/test_ws_protocol.py``).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from starlette.websockets import WebSocket

from domain.auth.service import Principal
from realtime.connection import SEND_TEXT_NOW, Connection, Durable


class Peer:
    """The far end of an ASGI socket: what reached it, and whether its transport takes a frame now."""

    def __init__(self) -> None:
        self.frames: list[str] = []
        self.direct = 0  # frames written by the direct write, not through the ASGI send
        self.takes = True
        self.drained = asyncio.Event()
        self.drained.set()

    def send_now(self, text: str) -> bool:
        if not self.takes:
            return False
        self.frames.append(text)
        self.direct += 1
        return True

    async def receive(self) -> dict[str, Any]:
        return {"type": "websocket.connect"}  # read once, by the accept; the reader is not under test

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "websocket.send":
            await self.drained.wait()  # as the server protocol waits for a paused transport to drain
            self.frames.append(message["text"])


async def connection(peer: Peer) -> Connection:
    scope = {"type": "websocket", "path": "/v1/ws", "headers": [], "extensions": {SEND_TEXT_NOW: peer.send_now}}
    ws = WebSocket(scope, peer.receive, peer.send)
    await ws.accept()
    principal = Principal(uuid.uuid4(), uuid.uuid4(), "user", datetime.now(UTC) + timedelta(hours=1))
    deps: Any = SimpleNamespace(events=None)
    return Connection(ws, deps, principal, cursor=0)


async def test_frames_keep_their_order_across_direct_writes_and_a_paused_transport() -> None:
    peer = Peer()
    conn = await connection(peer)
    writer = asyncio.create_task(conn._write_loop())
    await asyncio.sleep(0)
    waiting = conn._wakeup
    assert waiting is not None

    conn.push("reply 1")
    conn.push(Durable(1, "event 1"))
    assert peer.frames == ["reply 1", "event 1"] and conn.cursor == 1
    assert not waiting.done()  # written by the pusher: the writer was never woken

    peer.takes = False  # a slow peer: the transport is paused
    peer.drained.clear()
    conn.push("reply 2")  # declined: queued, and the writer waits in the ASGI send
    await asyncio.sleep(0)
    conn.push(Durable(2, "event 2"))
    peer.takes = True  # writable again, but the writer holds reply 2: event 2 must not overtake it
    conn.push("reply 3")
    conn.push(Durable(2, "event 2 again"))  # a duplicate of a seq already queued
    assert peer.frames == ["reply 1", "event 1"]
    peer.drained.set()
    for _ in range(20):
        await asyncio.sleep(0)
    assert peer.frames == ["reply 1", "event 1", "reply 2", "event 2", "reply 3"] and conn.cursor == 2

    conn.push(Durable(4, "event 4"))  # a gap, which the writer fills from the database first: never the pusher
    assert peer.frames[-1] == "reply 3"
    writer.cancel()  # before it runs: this test has no database
    assert peer.direct == 2 + 2  # reply 1, event 1; event 2 and reply 3 by the writer's own direct write
