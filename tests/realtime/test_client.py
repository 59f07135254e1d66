"""``delete_client.DeleteClient`` against a real server: auth, refs, durable events, dedupe, resume."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from delete_client import ClientError, Closed, DeleteClient
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.server import ServerConnection, serve

from domain.events.log import EventLog
from tests.support.events import append
from tests.support.events import event_log as shared_event_log
from tests.support.server import RunningServer
from tests.support.users import signup

WAIT_S = 10.0


@pytest.fixture
async def event_log(server: RunningServer, redis_url: str) -> AsyncIterator[EventLog]:
    """An ``EventLog`` publishing on the server's Redis key prefix, as the domain does."""
    async with shared_event_log(redis_url, str(server.settings.extra["redis_prefix"])) as log:
        yield log


@pytest.fixture
async def user(http: httpx.AsyncClient) -> dict[str, Any]:
    """A freshly signed-up user with its tokens."""
    return await signup(http)


def ws_url(server: RunningServer) -> str:
    return server.ws_url + "/v1/ws"


async def take(client: DeleteClient, count: int) -> list[dict[str, Any]]:
    """The next ``count`` events from ``events()``, within ``WAIT_S``."""
    got: list[dict[str, Any]] = []
    async with asyncio.timeout(WAIT_S):
        async for event in client.events():
            got.append(event)
            if len(got) == count:
                break
    return got


async def assert_quiet(client: DeleteClient, seconds: float = 0.3) -> None:
    """Nothing more arrives for ``seconds``."""
    with pytest.raises(TimeoutError):
        await client.next_event(timeout=seconds)


def dead_url() -> str:
    """A loopback URL nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"ws://127.0.0.1:{port}/v1/ws"


@asynccontextmanager
async def stub_server(handler: Callable[[ServerConnection], Awaitable[None]]) -> AsyncIterator[str]:
    """A scripted socket server, for client behaviour the real server cannot be made to show on demand."""
    async with serve(handler, "127.0.0.1", 0) as srv:
        port = next(iter(srv.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/v1/ws"


def hello(last_seq: int) -> str:
    return json.dumps({"type": "hello", "data": {"user_id": "u", "session_id": "s", "last_seq": last_seq,
                                                 "heartbeat_s": 25}})


def event(seq: int) -> str:
    return json.dumps({"type": "test.event", "seq": seq, "data": {"n": seq}})


@pytest.mark.parametrize("header_auth", [True, False], ids=["header", "first-frame"])
async def test_connect_authenticates_and_returns_hello(server: RunningServer, user: dict[str, Any],
                                                       header_auth: bool) -> None:
    """Header and first-frame auth both lead to hello with user_id, session_id, last_seq, heartbeat_s."""
    async with DeleteClient(ws_url(server), user["access_token"], header_auth=header_auth) as client:
        hello = client.hello
        assert hello is not None
        assert hello["user_id"] == user["user"]["id"]
        assert uuid.UUID(hello["session_id"])
        assert hello["last_seq"] == 0
        assert hello["heartbeat_s"] == server.settings.heartbeat_s


@pytest.mark.parametrize("header_auth", [True, False], ids=["header", "first-frame"])
async def test_connect_with_a_bad_token_raises_closed_4401(server: RunningServer, header_auth: bool) -> None:
    """An invalid token ends connect() with Closed 4401, and no reconnect is tried."""
    client = DeleteClient(ws_url(server), "not-a-token", header_auth=header_auth)
    with pytest.raises(Closed) as info:
        await asyncio.wait_for(client.connect(), WAIT_S)
    assert info.value.code == 4401


async def test_foreign_origin_is_refused_with_1008(server: RunningServer, user: dict[str, Any]) -> None:
    """A browser Origin that is not allowed is refused (HTTP 403 surfaces as Closed 1008)."""
    client = DeleteClient(ws_url(server), user["access_token"], origin="https://evil.example")
    with pytest.raises(Closed) as info:
        await asyncio.wait_for(client.connect(), WAIT_S)
    assert info.value.code == 1008


async def test_ping_unknown_type_and_concurrent_refs(server: RunningServer, user: dict[str, Any]) -> None:
    """ping replies with the time, an unknown type raises ClientError bad_request, concurrent calls get own replies."""
    async with DeleteClient(ws_url(server), user["access_token"]) as client:
        reply = await client.call("ping")
        assert set(reply) == {"time"}
        with pytest.raises(ClientError) as info:
            await client.call("no.such.command")
        assert info.value.code == "bad_request"
        assert info.value.ref is not None and info.value.ref.startswith("c")
        replies = await asyncio.wait_for(asyncio.gather(*(client.call("ping") for _ in range(5))), WAIT_S)
        assert all(set(r) == {"time"} for r in replies)
        results = await asyncio.wait_for(asyncio.gather(client.call("ping"), client.call("nope"), client.call("ping"),
                                                        return_exceptions=True), WAIT_S)
        assert isinstance(results[0], dict) and isinstance(results[2], dict)
        assert isinstance(results[1], ClientError) and results[1].code == "bad_request"


async def test_renew_gives_the_socket_a_fresh_token(server: RunningServer, http: httpx.AsyncClient,
                                                    user: dict[str, Any]) -> None:
    """renew() sends auth with a refreshed access token and returns its expiry."""
    async with DeleteClient(ws_url(server), user["access_token"]) as client:
        resp = await http.post("/v1/auth/refresh", json={"refresh_token": user["refresh_token"]})
        assert resp.status_code == 200, resp.text
        reply = await client.renew(resp.json()["access_token"])
        assert "expires_at" in reply


async def test_durable_events_arrive_in_seq_order(server: RunningServer, engine: AsyncEngine,
                                                  event_log: EventLog, user: dict[str, Any]) -> None:
    """Events appended through the EventLog arrive once each, in seq order, with their data."""
    async with DeleteClient(ws_url(server), user["access_token"]) as client:
        await append(engine, event_log, user["user"]["id"], range(1, 6))
        got = await take(client, 5)
        assert [e["seq"] for e in got] == [1, 2, 3, 4, 5]
        assert [e["data"] for e in got] == [{"n": n} for n in range(1, 6)]
        assert {e["type"] for e in got} == {"test.event"}
        assert client.last_seq == 5


async def test_next_event_by_type_keeps_others_queued(server: RunningServer, engine: AsyncEngine,
                                                      event_log: EventLog, user: dict[str, Any]) -> None:
    """next_event(type) skips over other events without losing them."""
    async with DeleteClient(ws_url(server), user["access_token"]) as client:
        await append(engine, event_log, user["user"]["id"], range(1, 3))
        await event_log.ephemeral([uuid.UUID(user["user"]["id"])], "test.ping", {"x": 1})
        assert (await client.next_event("test.ping"))["data"] == {"x": 1}
        assert [e["seq"] for e in await take(client, 2)] == [1, 2]


async def test_sync_replay_is_deduped(server: RunningServer, engine: AsyncEngine, event_log: EventLog,
                                      user: dict[str, Any]) -> None:
    """sync {after: 0} replays everything, but events() yields no seq twice; the reply has the highest seq."""
    async with DeleteClient(ws_url(server), user["access_token"]) as client:
        await append(engine, event_log, user["user"]["id"], range(1, 4))
        assert [e["seq"] for e in await take(client, 3)] == [1, 2, 3]
        reply = await client.call("sync", {"after": 0})
        assert reply == {"last_seq": 3}
        await assert_quiet(client)
        await append(engine, event_log, user["user"]["id"], range(4, 5))
        assert [e["seq"] for e in await take(client, 1)] == [4]


async def test_connect_with_last_seq_replays_what_was_missed(server: RunningServer, engine: AsyncEngine,
                                                             event_log: EventLog, user: dict[str, Any]) -> None:
    """A client created with last_seq=N gets every event after N, once, before connect() returns."""
    await append(engine, event_log, user["user"]["id"], range(1, 5))
    async with DeleteClient(ws_url(server), user["access_token"], last_seq=2) as client:
        assert client.hello is not None and client.hello["last_seq"] == 4
        assert [e["seq"] for e in await take(client, 2)] == [3, 4]
        await assert_quiet(client)


async def test_a_stored_seq_of_0_resumes_from_the_start_and_a_fresh_install_from_the_head(
        server: RunningServer, engine: AsyncEngine, event_log: EventLog, user: dict[str, Any]) -> None:
    """An app that stored seq 0 and is reopened after its first event gets it; a fresh install does not."""
    await append(engine, event_log, user["user"]["id"], range(1, 3))
    async with DeleteClient(ws_url(server), user["access_token"], last_seq=0) as reopened:
        assert [e["seq"] for e in await take(reopened, 2)] == [1, 2]
        await assert_quiet(reopened)
    async with DeleteClient(ws_url(server), user["access_token"]) as fresh:
        assert fresh.last_seq == 2
        await assert_quiet(fresh)


@pytest.mark.parametrize("code", [1012, 1013])
async def test_auto_resume_after_a_server_close(server: RunningServer, engine: AsyncEngine, event_log: EventLog,
                                                user: dict[str, Any], code: int) -> None:
    """After a 1012/1013 close the client reconnects, syncs, and yields every event exactly once, in order."""
    user_id = user["user"]["id"]
    async with DeleteClient(ws_url(server), user["access_token"]) as client:
        first_session = client.hello["session_id"] if client.hello else None
        await append(engine, event_log, user_id, range(1, 4))
        assert [e["seq"] for e in await take(client, 3)] == [1, 2, 3]
        await append(engine, event_log, user_id, range(4, 7), close_first=code)  # committed before the close
        assert [e["seq"] for e in await take(client, 3)] == [4, 5, 6]
        assert client.reconnects == 1 and client.close_code == code
        assert client.hello is not None and client.hello["session_id"] != first_session
        await append(engine, event_log, user_id, range(7, 9))  # live on the new socket
        got = await take(client, 2)
        assert [e["seq"] for e in got] == [7, 8] and [e["data"]["n"] for e in got] == [7, 8]
        await assert_quiet(client)
        assert set(await client.call("ping")) == {"time"}


async def test_auto_resume_fails_over_to_the_next_url(server: RunningServer, engine: AsyncEngine,
                                                      event_log: EventLog, user: dict[str, Any]) -> None:
    """Reconnect attempts rotate through the URLs, skipping one that refuses connections."""
    user_id = user["user"]["id"]
    async with DeleteClient([ws_url(server), dead_url()], user["access_token"]) as client:
        await append(engine, event_log, user_id, range(1, 3), close_first=1012)
        assert [e["seq"] for e in await take(client, 2)] == [1, 2]
        assert client.reconnects == 1


async def test_no_reconnect_after_logout_4401(server: RunningServer, http: httpx.AsyncClient,
                                              user: dict[str, Any]) -> None:
    """Logging the login out closes the socket with 4401; events() raises Closed and nothing reconnects."""
    client = DeleteClient(ws_url(server), user["access_token"])
    await asyncio.wait_for(client.connect(), WAIT_S)
    try:
        resp = await http.post("/v1/auth/logout", json={"refresh_token": user["refresh_token"]})
        assert resp.status_code == 204, resp.text
        with pytest.raises(Closed) as info:
            await take(client, 1)
        assert info.value.code == 4401
        assert client.close_code == 4401 and client.reconnects == 0
        with pytest.raises(Closed):
            await client.call("ping", timeout=WAIT_S)
    finally:
        await client.close()


async def test_no_reconnect_when_auto_resume_is_off(server: RunningServer, engine: AsyncEngine,
                                                    event_log: EventLog, user: dict[str, Any]) -> None:
    """With auto_resume=False a 1012 close surfaces as Closed 1012."""
    client = DeleteClient(ws_url(server), user["access_token"], auto_resume=False)
    await asyncio.wait_for(client.connect(), WAIT_S)
    try:
        await append(engine, event_log, user["user"]["id"], range(1, 2), close_first=1012)
        with pytest.raises(Closed) as info:
            await take(client, 1)
        assert info.value.code == 1012 and client.reconnects == 0
    finally:
        await client.close()


async def test_full_event_queue_closes_the_client(server: RunningServer, engine: AsyncEngine,
                                                  event_log: EventLog, user: dict[str, Any]) -> None:
    """When the app does not read events the bounded queue fills; queued events are kept, then Closed 1013."""
    client = DeleteClient(ws_url(server), user["access_token"], event_queue=2)
    await asyncio.wait_for(client.connect(), WAIT_S)
    try:
        await append(engine, event_log, user["user"]["id"], range(1, 5))
        got: list[int] = []
        with pytest.raises(Closed) as info:
            async with asyncio.timeout(WAIT_S):
                await asyncio.sleep(0.3)  # let the third event overflow the queue
                async for event in client.events():
                    got.append(event["seq"])
        assert got == [1, 2] and client.last_seq == 2
        assert info.value.code == 1013 and "queue full" in info.value.reason
    finally:
        await client.close()


async def test_pending_call_fails_with_closed_and_is_not_retried() -> None:
    """A call waiting when the socket drops raises Closed; the client reconnects but never resends the command."""
    commands: list[dict[str, Any]] = []

    async def handler(ws: ServerConnection) -> None:
        await ws.send(hello(0))
        async for text in ws:
            commands.append(json.loads(text))
            if commands[-1]["type"] == "ping" and len(commands) == 1:
                await ws.close(1012, "restarting")  # drop it without replying

    async with stub_server(handler) as url, DeleteClient(url, "token") as client:
        with pytest.raises(Closed) as info:
            await client.call("ping", timeout=WAIT_S)
        assert info.value.code == 1012
        async with asyncio.timeout(WAIT_S):
            while client.reconnects == 0:
                await asyncio.sleep(0.01)
        await assert_quiet(client)
        assert [c["type"] for c in commands] == ["ping"]


async def test_resume_drops_live_events_that_would_leave_a_gap() -> None:
    """While the resume sync is in flight a live event past a gap is dropped; the replay delivers all in order."""
    synced: list[dict[str, Any]] = []

    async def handler(ws: ServerConnection) -> None:
        await ws.send(hello(5))
        sync = json.loads(await ws.recv())
        synced.append(sync)
        await ws.send(event(6))  # live, published between hello and the sync job: arrives before the replay
        for seq in (4, 5, 6):
            await ws.send(event(seq))
        await ws.send(json.dumps({"type": "reply", "ref": sync["ref"], "ok": True, "data": {"last_seq": 6}}))
        await ws.send(event(7))
        await ws.wait_closed()

    async with stub_server(handler) as url, DeleteClient(url, "token", last_seq=3) as client:
        assert [e["seq"] for e in await take(client, 4)] == [4, 5, 6, 7]
        await assert_quiet(client)
        assert synced[0]["type"] == "sync" and synced[0]["data"] == {"after": 3}
