"""A raw WebSocket on a test server: open one, read JSON frames, call a command and wait for its reply."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from tests.support.server import RunningServer

T = 5.0  # seconds any single await may take


async def open_ws(server: RunningServer, token: str | None = None, **kwargs: Any) -> ClientConnection:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with asyncio.timeout(T):
        return await connect(server.ws_url + "/v1/ws", additional_headers=headers, **kwargs)


async def recv_json(ws: ClientConnection, timeout: float = T) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        value: dict[str, Any] = json.loads(await ws.recv())
        return value


async def call(ws: ClientConnection, type_: str, data: dict[str, Any] | None = None, ref: str = "r1") -> dict[str, Any]:
    await ws.send(json.dumps({"type": type_, "ref": ref, "data": data or {}}))
    while True:
        frame = await recv_json(ws)
        if frame.get("type") == "reply" and frame.get("ref") == ref:
            return frame


def raw_upgrade(port: int, token: str) -> socket.socket:
    """A WebSocket opened over a plain TCP socket (blocking, 5-s timeout): the test sends and reads raw frames,
    and answers no ping unless it does so itself."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer {token}\r\n\r\n")
                 .encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(4096)
    assert head.startswith(b"HTTP/1.1 101"), head[:100]
    return sock
