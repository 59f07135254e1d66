"""delete_api/upgrade_handoff.py: a socket's upgrade head is parsed once (by httptools), and the heads websockets
answers with an error of its own still get that answer."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import Generator, Iterator
from typing import Any

import httpx
import pytest
import websockets.http11
from websockets.http11 import Request

from delete_api.app import uvicorn_options
from delete_api.upgrade_handoff import UpgradeHandoffProtocol
from delete_api.ws_protocol import LeanWebSocketProtocol
from tests.abuse.support import open_raw
from tests.support.server import RunningServer
from tests.support.socket import call, open_ws, recv_json
from tests.support.users import signup

T = 10.0


@pytest.fixture
def head_parses(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The paths of the upgrade heads websockets' own parser read to the end (the server's; the client in this
    process parses responses, not requests)."""
    parses: list[str] = []
    original = websockets.http11.Request.parse

    def counting(read_line: Any) -> Generator[None, None, Request]:
        request = yield from original(read_line)
        parses.append(request.path)
        return request

    monkeypatch.setattr(websockets.http11.Request, "parse", staticmethod(counting))
    yield parses


def upgrade_head(host: str, *, path: str, method: str = "GET", version: str = "1.1",
                 extra: list[str] | None = None) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [f"{method} {path} HTTP/{version}", f"Host: {host}", "Upgrade: websocket", "Connection: Upgrade",
             f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13", *(extra or [])]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def answer_to(server: RunningServer, head: bytes) -> int:
    """The status of the server's answer to ``head`` (a 101 is not followed by a body or the end of the stream)."""
    reader, writer = await open_raw(server.base_url)
    try:
        writer.write(head)
        async with asyncio.timeout(T):
            status_line = await reader.readuntil(b"\r\n")
        return int(status_line.split(b" ", 2)[1])
    finally:
        writer.close()


def host_of(server: RunningServer) -> str:
    return server.base_url.split("://", 1)[1]


async def test_a_socket_opens_on_the_head_httptools_parsed(server: RunningServer, http: httpx.AsyncClient,
                                                           head_parses: list[str]) -> None:
    """Sockets authenticated by header and by frame open and serve without websockets parsing
    their heads a second time; the app's scope holds the headers as sent (a non-ASCII value byte for byte)."""
    assert uvicorn_options(server.settings)["http"] is UpgradeHandoffProtocol
    user: dict[str, Any] = await signup(http)
    by_header = await open_ws(server, user["access_token"], user_agent_header="caf\xe9 client/1")
    assert (await recv_json(by_header))["type"] == "hello"
    by_frame = await open_ws(server)
    await by_frame.send(json.dumps({"type": "auth", "data": {"token": user["access_token"]}}))
    assert (await recv_json(by_frame))["type"] == "hello"
    assert head_parses == []
    [protocol] = [p for p in server.server.server_state.connections
                  if isinstance(p, LeanWebSocketProtocol) and p.scope["path"] == "/v1/ws"
                  and (b"user-agent", b"caf\xe9 client/1") in p.scope["headers"]]
    assert (b"authorization", f"Bearer {user['access_token']}".encode()) in protocol.scope["headers"]
    for ws in (by_header, by_frame):
        assert (await call(ws, "ping"))["ok"] is True
        await ws.close()


async def test_heads_websockets_refuses_still_get_its_answers(server: RunningServer, head_parses: list[str]) -> None:
    """Another method, too many headers, a header line too long, a body or a transfer coding: the head goes to
    websockets' own parse, whose answer is the one it always was. An HTTP/1.0 head is upgraded, as uvicorn's path
    did (it wrote every head out as HTTP/1.1), on the head httptools parsed."""
    host = host_of(server)
    many = [f"X-Filler-{n}: {n}" for n in range(websockets.http11.MAX_NUM_HEADERS)]
    cases: list[tuple[dict[str, Any], bytes, int]] = [
        ({"method": "POST"}, b"", 405),
        ({"version": "1.0"}, b"", 101),
        ({"extra": many}, b"", 431),
        ({"extra": ["X-Long: " + "a" * websockets.http11.MAX_LINE_LENGTH]}, b"", 431),
        ({"extra": ["Content-Length: 5"]}, b"hello", 400),
        ({"extra": ["Transfer-Encoding: chunked"]}, b"0\r\n\r\n", 400),
    ]
    statuses = [await answer_to(server, upgrade_head(host, path=f"/v1/ws?case={n}", **options) + body)
                for n, (options, body, _) in enumerate(cases)]
    assert statuses == [status for _, _, status in cases]
    # websockets read the POST's head to the end (and refused the method); it stopped reading each of the last
    # four where its limits or its rules on a body were broken; the HTTP/1.0 head it never read
    assert head_parses == ["/v1/ws?case=0"]


async def test_heads_httptools_refuses_never_reach_a_socket(server: RunningServer, head_parses: list[str]) -> None:
    """What websockets' own parse would refuse in a head, llhttp refuses first: a control character in a header
    value, a header name that is not a token, a path that is not ASCII: 400 from the HTTP protocol."""
    host = host_of(server)
    heads = [upgrade_head(host, path="/v1/ws", extra=["X-Note: a\x01b"]),
             upgrade_head(host, path="/v1/ws", extra=["X Note: ab"]),
             upgrade_head(host, path="/v1/w\xe9s")]
    assert [await answer_to(server, head) for head in heads] == [400, 400, 400]
    assert head_parses == []
