"""Slow request headers: a client that never finishes its request head is closed (HEADER_TIMEOUT_S).

Request bodies have their own limits (rest/body.py, tests/abuse/test_uploads.py). Here the server runs as a
real ``delete-api serve`` process with a 1 s header timeout; half-sent requests on fresh and on keep-alive
connections must end with a 408 and a close within the timeout plus some slack, while requests that finish
their headers in time, keep-alive and WebSocket upgrades work as before and other clients are served at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import time
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.abuse.support import close_quietly, open_raw, read_response
from tests.support.nodes import Nodes, running_nodes, signup_user
from tests.support.server import run_server
from tests.support.settings import make_settings

TIMEOUT_S = 1
SLACK_S = 1.5  # timer granularity, a busy test machine
HELD = 50
HEALTH_PROMPT_S = 0.5
T = 10.0

HALF_REQUESTS = {
    "nothing at all": b"",
    "half a request line": b"GET /v1/hea",
    "half the headers": b"GET /v1/health HTTP/1.1\r\nHost: x\r\nUser-Agent: slo",
    "half an upgrade": b"GET /v1/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n",
    "a header dripped": b"POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nX-Drip: ",  # one more byte every 0.2 s
}


def request(path: str = "/v1/health", *, close: bool = False) -> bytes:
    connection = "close" if close else "keep-alive"
    return f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: {connection}\r\n\r\n".encode()


@dataclass
class Held:
    """What a half-sent connection saw: how long it lived (None: still open at the end) and what it received."""

    lived_s: float | None
    received: bytes


async def read_until_closed(reader: asyncio.StreamReader, wait_s: float) -> bytes | None:
    """Everything the server sends until it closes the connection; None if it is still open after ``wait_s``."""
    received = b""
    try:
        async with asyncio.timeout(wait_s):
            while chunk := await reader.read(4096):
                received += chunk
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    return received


async def drip(writer: asyncio.StreamWriter) -> None:
    """A slowloris: one header byte every 0.2 s, for as long as the connection takes it."""
    with contextlib.suppress(OSError, RuntimeError):
        while not writer.is_closing():
            await asyncio.sleep(0.2)
            writer.write(b"x")
            await writer.drain()


async def hold(base_url: str, head: bytes, *, dripping: bool, wait_s: float) -> Held:
    """Open a connection, send ``head`` (and keep dripping if asked), and wait for the server to close it."""
    reader, writer = await open_raw(base_url)
    opened = time.monotonic()
    writer.write(head)
    dripper = asyncio.create_task(drip(writer)) if dripping else None
    try:
        received = await read_until_closed(reader, wait_s)
        return Held(None if received is None else time.monotonic() - opened, received or b"")
    finally:
        if dripper is not None:
            dripper.cancel()
            await asyncio.gather(dripper, return_exceptions=True)
        await close_quietly(writer)


def assert_timed_out(held: Held, what: str) -> None:
    assert held.lived_s is not None, f"{what}: still open after {TIMEOUT_S + SLACK_S:.1f}s"
    assert TIMEOUT_S * 0.9 <= held.lived_s <= TIMEOUT_S + SLACK_S, f"{what}: closed after {held.lived_s:.2f}s"


def assert_408(received: bytes, what: str) -> None:
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 "), f"{what}: {received[:200]!r}"
    assert b"connection: close" in head.lower(), head
    assert json.loads(body)["error"]["code"] == "bad_request", body


@pytest.fixture(scope="module")
async def node(database_url: str, redis_url: str, tmp_root: Path) -> AsyncIterator[Nodes]:
    async with running_nodes(1, database_url=database_url, redis_url=redis_url, root=tmp_root / "slow-headers",
                             extra_env={"HEADER_TIMEOUT_S": str(TIMEOUT_S)}) as n:
        yield n


async def test_half_sent_requests_are_closed_and_others_served_meanwhile(node: Nodes) -> None:
    """50 connections that send nothing, or never finish their request head (some drip a byte every 0.2 s),
    are closed within the timeout (with 408 if they began a request); health answers promptly meanwhile."""
    base_url = node[0].base_url
    kinds = list(HALF_REQUESTS)
    names = [kinds[i % len(kinds)] for i in range(HELD)]
    holders = [asyncio.create_task(hold(base_url, HALF_REQUESTS[name], dripping=name == "a header dripped",
                                        wait_s=TIMEOUT_S + SLACK_S + 0.5)) for name in names]
    await asyncio.sleep(0.2)  # all of them connected and half-sent
    latencies = []
    async with httpx.AsyncClient(base_url=base_url, timeout=T) as http:
        for _ in range(5):
            started = time.monotonic()
            assert (await http.get("/v1/health")).status_code == 200
            latencies.append(time.monotonic() - started)
            await asyncio.sleep(0.05)
    results = await asyncio.gather(*holders)
    assert max(latencies) < HEALTH_PROMPT_S, f"health took {latencies} while {HELD} slow requests were held"
    for name, held in zip(names, results, strict=True):
        assert_timed_out(held, name)
        if name == "nothing at all":
            assert held.received == b"", held  # no request begun, no answer: closed like an idle keep-alive
        elif name != "a header dripped":  # a drip may reach the closed socket first: a reset can drop the 408
            assert_408(held.received, name)


async def test_headers_finished_in_time_are_served_and_keep_alive_still_works(node: Nodes) -> None:
    """Each request gets the full timeout, counted from its first byte: two requests whose heads each take
    60 % of it are served on one keep-alive connection; half of a third request is closed with 408."""
    reader, writer = await open_raw(node[0].base_url)
    try:
        for _ in range(2):
            whole = request()
            writer.write(whole[:20])
            await asyncio.sleep(TIMEOUT_S * 0.6)
            writer.write(whole[20:])
            async with asyncio.timeout(T):
                response = await read_response(reader)
            assert response.status == 200, response
            assert response.headers.get("connection") != "close"
            await asyncio.sleep(TIMEOUT_S * 0.6)  # idle between requests: the keep-alive timeout (5 s) applies
        writer.write(request()[:20])
        started = time.monotonic()
        received = await read_until_closed(reader, TIMEOUT_S + SLACK_S + 0.5)
        assert_timed_out(Held(None if received is None else time.monotonic() - started, received or b""),
                         "half of the third request")
        assert received is not None
        assert_408(received, "half of the third request")
    finally:
        await close_quietly(writer)


async def test_a_websocket_outlives_the_header_timeout(node: Nodes) -> None:
    """The timer ends with the upgrade request's headers: an open socket answers long after the timeout."""
    user = await signup_user(node[0].base_url)
    async with asyncio.timeout(T):
        ws = await connect(node[0].ws_url, additional_headers={"Authorization": f"Bearer {user.token}"})
    try:
        assert json.loads(await ws.recv())["type"] == "hello"
        await asyncio.sleep(TIMEOUT_S * 2.5)
        await ws.send(json.dumps({"type": "ping", "ref": "late"}))
        async with asyncio.timeout(T):
            while (frame := json.loads(await ws.recv())).get("ref") != "late":
                pass
        assert frame["ok"] is True, frame
    finally:
        await ws.close()


async def test_a_timed_out_connection_is_freed_by_reference_counting(database_url: str, redis_url: str,
                                                                      tmp_root: Path) -> None:
    """The timer leaves no reference cycle behind: the closed connection's protocol goes without the collector."""
    from delete_api.header_timeout import HeaderTimeoutProtocol

    settings = make_settings(database_url, redis_url, tmp_root / "media-slow-headers", header_timeout_s=TIMEOUT_S)
    async with run_server(settings) as srv:
        reader, writer = await open_raw(srv.base_url)
        try:
            writer.write(HALF_REQUESTS["half the headers"])
            await writer.drain()
            await asyncio.sleep(0.1)
            local = writer.get_extra_info("sockname")
            # a dead weakref.proxy (websockets' client connections leave some to earlier tests) raises on isinstance
            found = [o for o in gc.get_objects() if not isinstance(o, weakref.ProxyTypes)
                     and isinstance(o, HeaderTimeoutProtocol) and o.client == local]
            assert len(found) == 1, found
            protocol = weakref.ref(found[0])
            del found
            gc.collect()
            gc.disable()  # from here only reference counting frees anything
            try:
                assert await read_until_closed(reader, TIMEOUT_S + SLACK_S) is not None, "not closed in time"
                for _ in range(40):
                    if protocol() is None:
                        break
                    await asyncio.sleep(0.05)
                assert protocol() is None, "the timed-out connection's protocol is only freed by the cycle collector"
            finally:
                gc.enable()
        finally:
            await close_quietly(writer)
