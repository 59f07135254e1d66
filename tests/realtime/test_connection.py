"""CONTRACT section 2 "Connecting" and "Frames" on one real server."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import ClientConnection, connect

from tests.support.events import append, event_log
from tests.support.server import RunningServer, run_server
from tests.support.settings import make_settings
from tests.support.socket import T, call, open_ws, raw_upgrade, recv_json
from tests.support.users import signup


async def close_code(ws: ClientConnection, timeout: float = T) -> int | None:
    """Read until the server closes; return its close code."""
    async with asyncio.timeout(timeout):
        try:
            while True:
                await ws.recv()
        except websockets.ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd else None


@pytest.fixture
async def user(http: httpx.AsyncClient) -> dict[str, Any]:
    return await signup(http)


async def test_header_auth_gets_hello(server: RunningServer, user: dict[str, Any]) -> None:
    """Authorization: Bearer on the upgrade gives hello with user_id, session_id, last_seq and heartbeat_s."""
    ws = await open_ws(server, user["access_token"])
    hello = await recv_json(ws)
    assert hello["type"] == "hello" and "seq" not in hello
    assert set(hello["data"]) == {"user_id", "session_id", "last_seq", "heartbeat_s"}
    assert hello["data"]["user_id"] == user["user"]["id"]
    assert hello["data"]["last_seq"] == 0 and hello["data"]["heartbeat_s"] == server.settings.heartbeat_s
    await ws.close()


async def test_first_frame_auth_gets_hello(server: RunningServer, user: dict[str, Any]) -> None:
    """A browser sends {"type":"auth","data":{"token"}} first and gets hello."""
    ws = await open_ws(server)
    await ws.send(json.dumps({"type": "auth", "data": {"token": user["access_token"]}}))
    hello = await recv_json(ws)
    assert hello["type"] == "hello" and hello["data"]["user_id"] == user["user"]["id"]
    await ws.close()


async def test_each_socket_has_its_own_session_id(server: RunningServer, user: dict[str, Any]) -> None:
    """A user may hold several sockets at once, each with its own session id."""
    sockets = [await open_ws(server, user["access_token"]) for _ in range(3)]
    hellos = [await recv_json(ws) for ws in sockets]
    assert len({h["data"]["session_id"] for h in hellos}) == 3
    for ws in sockets:
        assert (await call(ws, "ping"))["ok"] is True
        await ws.close()


@pytest.mark.parametrize("token", ["not-a-jwt", "a.b.c"])
async def test_bad_header_token_closes_4401(server: RunningServer, token: str) -> None:
    """An invalid token on the upgrade closes the socket with 4401."""
    ws = await open_ws(server, token)
    assert await close_code(ws) == 4401


async def test_refresh_token_is_not_an_access_token_on_the_socket(server: RunningServer,
                                                                   user: dict[str, Any]) -> None:
    """A refresh token cannot open a socket (4401)."""
    ws = await open_ws(server, user["refresh_token"])
    assert await close_code(ws) == 4401


@pytest.mark.parametrize("first", [
    json.dumps({"type": "auth", "data": {"token": "bad"}}),
    json.dumps({"type": "ping", "ref": "1"}),
    json.dumps({"type": "auth", "data": {}}),
    "not json",
])
async def test_bad_first_frame_closes_4401(server: RunningServer, first: str) -> None:
    """Without header auth, a first frame that is not a valid auth closes with 4401."""
    ws = await open_ws(server)
    await ws.send(first)
    assert await close_code(ws) == 4401


async def test_no_auth_within_10_seconds_closes_4408(server: RunningServer) -> None:
    """A socket that sends nothing for 10 s is closed with 4408."""
    ws = await open_ws(server)
    started = time.monotonic()
    assert await close_code(ws, timeout=15) == 4408
    assert 9.5 <= time.monotonic() - started <= 13


async def test_foreign_origin_is_refused(server: RunningServer, user: dict[str, Any]) -> None:
    """An upgrade whose Origin is not allowed is refused with HTTP 403 before any frame."""
    with pytest.raises(websockets.InvalidStatus) as info:
        await open_ws(server, user["access_token"], origin="https://evil.example")
    assert info.value.response.status_code == 403


async def test_configured_origin_is_allowed(database_url: str, redis_url: str, tmp_root: Path,
                                            http: httpx.AsyncClient) -> None:
    """An Origin listed in ALLOWED_ORIGINS may open the socket; no Origin (native apps) may too."""
    settings = make_settings(database_url, redis_url, tmp_root / "media-o",
                             allowed_origins=("https://app.example.com",))
    body = await signup(http)
    async with run_server(settings) as srv:
        ws = await open_ws(srv, body["access_token"], origin="https://app.example.com")
        assert (await recv_json(ws))["type"] == "hello"
        await ws.close()
        with pytest.raises(websockets.InvalidStatus):
            await open_ws(srv, body["access_token"], origin="https://app.example.com.evil.example")


async def test_suspended_account_cannot_connect(server: RunningServer, http: httpx.AsyncClient,
                                                engine: AsyncEngine) -> None:
    """A suspended user's still-unexpired token closes the socket with 4403."""
    body = await signup(http)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE users SET status='suspended', suspended_until=:u WHERE id=:i"),
                           {"u": datetime.now(UTC) + timedelta(days=1), "i": body["user"]["id"]})
    ws = await open_ws(server, body["access_token"])
    assert await close_code(ws) == 4403


async def test_logout_closes_open_sockets_of_that_login(server: RunningServer, http: httpx.AsyncClient) -> None:
    """Logging out closes that login's open sockets with 4401; another login's socket stays open."""
    body = await signup(http)
    other = (await http.post("/v1/auth/login", json={"email": body["user"]["email"],
                                                     "password": "correct horse battery"})).json()
    ws = await open_ws(server, body["access_token"])
    keep = await open_ws(server, other["access_token"])
    await recv_json(ws)
    await recv_json(keep)
    assert (await http.post("/v1/auth/logout", json={"refresh_token": body["refresh_token"]})).status_code == 204
    assert await close_code(ws) == 4401
    assert (await call(keep, "ping"))["ok"] is True
    await keep.close()


async def test_ping_command_replies_with_time(server: RunningServer, user: dict[str, Any]) -> None:
    """{"type":"ping","ref"} replies {"time"} with the same ref."""
    ws = await open_ws(server, user["access_token"])
    await recv_json(ws)
    reply = await call(ws, "ping", ref="abc-1")
    assert reply["ok"] is True and reply["ref"] == "abc-1"
    moment = datetime.fromisoformat(reply["data"]["time"].replace("Z", "+00:00"))
    assert abs((moment - datetime.now(UTC)).total_seconds()) < 5
    await ws.close()


@pytest.mark.parametrize(("frame", "code"), [
    ("{broken", "bad_request"),
    ('{"type": "sync", "ref": "x", "data": {"after": NaN}}', "bad_request"),
    ("[1,2,3]", "bad_request"),
    (json.dumps({"ref": "x"}), "bad_request"),
    (json.dumps({"type": "no.such.command", "ref": "x"}), "bad_request"),
    (json.dumps({"type": "ping", "ref": "x", "data": [1]}), "bad_request"),
    (json.dumps({"type": "sync", "ref": "x", "data": {"after": "ten"}}), "validation_error"),
    (json.dumps({"type": "sync", "ref": "x", "data": {"after": 1, "extra": True}}), "validation_error"),
])
async def test_bad_frames_get_error_replies_and_the_socket_lives(server: RunningServer, user: dict[str, Any],
                                                                 frame: str, code: str) -> None:
    """Malformed JSON, unknown type or bad data get an error reply; the socket keeps working."""
    ws = await open_ws(server, user["access_token"])
    await recv_json(ws)
    await ws.send(frame)
    reply = await recv_json(ws)
    assert reply["type"] == "reply" and reply["ok"] is False and reply["error"]["code"] == code
    assert reply["error"]["message"]
    if code == "validation_error":
        assert reply["error"]["details"]["fields"]
    assert (await call(ws, "ping"))["ok"] is True
    await ws.close()


async def test_binary_frames_get_bad_request(server: RunningServer, user: dict[str, Any]) -> None:
    """A binary frame is answered with bad_request; the socket keeps working."""
    ws = await open_ws(server, user["access_token"])
    await recv_json(ws)
    await ws.send(b"\x00\x01binary")
    reply = await recv_json(ws)
    assert reply["ok"] is False and reply["error"]["code"] == "bad_request"
    assert (await call(ws, "ping"))["ok"] is True
    await ws.close()


async def test_oversize_frame_closes_1009_and_spares_others(server: RunningServer, http: httpx.AsyncClient) -> None:
    """A frame over 64 KiB closes that socket with 1009; another user's socket is unaffected."""
    a, b = await signup(http), await signup(http)
    big = await open_ws(server, a["access_token"], max_size=None)
    other = await open_ws(server, b["access_token"])
    await recv_json(big)
    await recv_json(other)
    await big.send(json.dumps({"type": "ping", "ref": "x", "data": {"pad": "x" * (65 * 1024)}}))
    assert await close_code(big) == 1009
    assert (await call(other, "ping"))["ok"] is True
    await other.close()


async def test_flooding_is_rate_limited_then_closed_4429(server: RunningServer, http: httpx.AsyncClient) -> None:
    """1,000 commands at once: some are rate_limited with retry_after_s, then the socket closes 4429."""
    a, b = await signup(http), await signup(http)
    flood = await open_ws(server, a["access_token"])
    calm = await open_ws(server, b["access_token"])
    await recv_json(flood)
    await recv_json(calm)
    for i in range(1000):
        try:
            await flood.send(json.dumps({"type": "ping", "ref": str(i)}))
        except websockets.ConnectionClosed:
            break
    limited, code = [], None
    async with asyncio.timeout(10):
        try:
            while True:
                frame = json.loads(await flood.recv())
                if frame.get("ok") is False:
                    limited.append(frame["error"])
        except websockets.ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd else None
    assert limited and all(e["code"] == "rate_limited" for e in limited)
    assert all(e["details"]["retry_after_s"] > 0 for e in limited)
    assert code == 4429
    assert (await call(calm, "ping"))["ok"] is True
    await calm.close()


async def test_a_short_burst_is_throttled_not_closed(server: RunningServer, user: dict[str, Any]) -> None:
    """60 quick commands: the excess gets rate_limited replies and the socket stays open."""
    ws = await open_ws(server, user["access_token"])
    await recv_json(ws)
    for i in range(60):
        await ws.send(json.dumps({"type": "ping", "ref": str(i)}))
    replies = [await recv_json(ws) for _ in range(60)]
    codes = [r["error"]["code"] for r in replies if not r["ok"]]
    assert codes and set(codes) == {"rate_limited"}
    await asyncio.sleep(1.0)
    assert (await call(ws, "ping", ref="after"))["ok"] is True
    await ws.close()


@pytest.fixture(scope="module")
async def short_server(database_url: str, redis_url: str, tmp_root: Path) -> AsyncIterator[RunningServer]:
    """A server with 4-second access tokens and 1-second heartbeats."""
    settings = make_settings(database_url, redis_url, tmp_root / "media-short", access_token_ttl_s=4,
                             heartbeat_s=1)
    async with run_server(settings) as srv:
        yield srv


async def short_login(srv: RunningServer) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=srv.base_url, timeout=10) as client:
        return await signup(client)


async def test_expired_token_closes_4401_unless_renewed(short_server: RunningServer) -> None:
    """A socket whose token expires is closed with 4401; one renewed with `auth` in time stays open."""
    stale, fresh = await short_login(short_server), await short_login(short_server)
    ws_stale = await open_ws(short_server, stale["access_token"])
    ws_fresh = await open_ws(short_server, fresh["access_token"])
    await recv_json(ws_stale)
    await recv_json(ws_fresh)
    await asyncio.sleep(2.0)  # token times are whole seconds: renew late enough to outlive the first token
    async with httpx.AsyncClient(base_url=short_server.base_url, timeout=10) as client:
        renewed = (await client.post("/v1/auth/refresh", json={"refresh_token": fresh["refresh_token"]})).json()
    reply = await call(ws_fresh, "auth", {"token": renewed["access_token"]})
    assert reply["ok"] is True and reply["data"]["expires_at"].endswith("Z")
    assert await close_code(ws_stale, timeout=6) == 4401
    assert (await call(ws_fresh, "ping", ref="still"))["ok"] is True
    await ws_fresh.close()


async def test_renewing_with_another_users_token_is_refused(short_server: RunningServer) -> None:
    """`auth` with a token of a different user is refused and the socket keeps its own identity."""
    a, b = await short_login(short_server), await short_login(short_server)
    ws = await open_ws(short_server, a["access_token"])
    await recv_json(ws)
    reply = await call(ws, "auth", {"token": b["access_token"]})
    assert reply["ok"] is False and reply["error"]["code"] == "unauthorized"
    await ws.close()


async def test_dead_peer_is_dropped_within_two_heartbeats(short_server: RunningServer) -> None:
    """A client that stops answering pings is disconnected within 2 x heartbeat_s."""
    body = await short_login(short_server)
    port = int(short_server.base_url.rsplit(":", 1)[1])
    sock = await asyncio.to_thread(raw_upgrade, port, body["access_token"])  # answers no ping
    started = time.monotonic()

    def wait_for_eof() -> float:
        sock.settimeout(10)
        while sock.recv(65536):
            pass
        return time.monotonic() - started

    try:
        took = await asyncio.to_thread(wait_for_eof)
    finally:
        sock.close()
    assert took <= 2 * short_server.settings.heartbeat_s + 1.0, took


async def test_connecting_with_last_seq_replays_in_order_before_live_events(
        server: RunningServer, http: httpx.AsyncClient, engine: AsyncEngine, redis_url: str) -> None:
    """A client that says its last_seq when connecting gets what it missed, in order, then live events."""
    body = await signup(http)
    user_id = body["user"]["id"]
    async with event_log(redis_url, str(server.settings.extra["redis_prefix"])) as log:
        await append(engine, log, user_id, range(1, 6))
        header_ws = await open_ws_path(server, "/v1/ws?last_seq=3", body["access_token"])
        first_frame_ws = await open_ws(server)
        await first_frame_ws.send(json.dumps({"type": "auth", "data": {"token": body["access_token"], "last_seq": 2}}))
        for ws, expected in ((header_ws, [4, 5]), (first_frame_ws, [3, 4, 5])):
            hello = await recv_json(ws)
            assert hello["type"] == "hello" and hello["data"]["last_seq"] == 5
            assert [(await recv_json(ws))["seq"] for _ in expected] == expected
        await append(engine, log, user_id, range(6, 7))
        for ws in (header_ws, first_frame_ws):
            event = await recv_json(ws)
            assert (event["seq"], event["data"]) == (6, {"n": 6})
            await ws.close()


async def open_ws_path(server: RunningServer, path: str, token: str) -> ClientConnection:
    async with asyncio.timeout(T):
        return await connect(server.ws_url + path, additional_headers={"Authorization": f"Bearer {token}"})
