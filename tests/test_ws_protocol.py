"""delete_api/ws_protocol.py: the socket protocol the server runs forgets the handshake once answered."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from delete_api.app import uvicorn_options
from delete_api.ws_protocol import LeanWebSocketProtocol
from realtime.connection import SEND_TEXT_NOW
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


async def test_frames_go_straight_to_an_open_transport_and_wait_while_it_is_paused(server: RunningServer,
                                                                                   http: httpx.AsyncClient) -> None:
    """The protocol offers the app a direct write of a text frame; it declines while the transport is paused (a
    peer too slow to read), and then a reply waits for the transport to drain instead of being written past it."""
    user: dict[str, Any] = await signup(http)
    ws = await open_ws(server, user["access_token"])
    assert (await recv_json(ws))["type"] == "hello"
    [protocol] = [p for p in server.server.server_state.connections if isinstance(p, LeanWebSocketProtocol)]
    assert protocol.scope["extensions"][SEND_TEXT_NOW] == protocol.send_text_now
    assert protocol.send_text_now('{"type":"probe"}') is True
    assert await recv_json(ws) == {"type": "probe"}

    protocol.pause_writing()
    assert protocol.send_text_now('{"type":"probe"}') is False
    await ws.send(json.dumps({"type": "ping", "ref": "held", "data": {}}))
    pending = asyncio.ensure_future(recv_json(ws, timeout=5))
    done, _ = await asyncio.wait({pending}, timeout=0.5)
    assert not done  # written past a paused transport, the reply would be here already
    protocol.resume_writing()
    reply = await pending
    assert (reply["ref"], reply["ok"]) == ("held", True)
    await ws.close()
    async with asyncio.timeout(5):
        while not protocol.disconnected:
            await asyncio.sleep(0.01)
    # the direct write is taken out of the scope: it would keep the closed socket's protocol in a reference cycle
    # until the node's next full collection (tests/abuse/test_socket_abuse.py's storms measure the memory)
    assert SEND_TEXT_NOW not in protocol.scope["extensions"]
