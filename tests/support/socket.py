"""A raw WebSocket on a test server: open one, read JSON frames, call a command and wait for its reply."""

from __future__ import annotations

import asyncio
import json
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
