"""delete_api/ws_protocol.py: the socket protocol the server runs forgets the handshake once answered."""

from __future__ import annotations

import json
from typing import Any

import httpx

from delete_api.app import uvicorn_options
from delete_api.ws_protocol import LeanWebSocketProtocol
from tests.support.server import RunningServer
from tests.support.socket import call, open_ws, recv_json
from tests.support.users import signup


async def test_open_sockets_keep_no_handshake_and_still_serve(server: RunningServer, http: httpx.AsyncClient) -> None:
    """Both ways of authenticating leave no upgrade request or 101 response on the socket, which still works."""
    user: dict[str, Any] = await signup(http)
    by_header = await open_ws(server, user["access_token"])
    assert (await recv_json(by_header))["type"] == "hello"
    by_frame = await open_ws(server)
    await by_frame.send(json.dumps({"type": "auth", "data": {"token": user["access_token"]}}))
    assert (await recv_json(by_frame))["type"] == "hello"
    assert uvicorn_options(server.settings)["ws"] is LeanWebSocketProtocol
    protocols = [p for p in server.server.server_state.connections if isinstance(p, LeanWebSocketProtocol)]
    assert len(protocols) == 2
    assert all(p.request is None and p.response is None for p in protocols)
    for ws in (by_header, by_frame):
        assert (await call(ws, "ping"))["ok"] is True
        await ws.close()
