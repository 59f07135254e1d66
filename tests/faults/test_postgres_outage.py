"""Issue 7, item 2: PostgreSQL stopped (``pg_ctl stop -m fast``) under load, then started again.

During the outage every request gets a fast, clear error in the contract's shape and open sockets stay
open; nothing is half-written; afterwards the same nodes and the same sockets work again without a restart.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from contextlib import AsyncExitStack
from typing import Any

import httpx
from delete_client import ClientError, Closed
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.faults.support import (
    REQUEST_TIMEOUT_S,
    Chatter,
    HealthWatch,
    Infra,
    Pair,
    Recorder,
    Sent,
    diff,
    matched_pair,
    member,
    message_rows,
    ms,
    stored_events,
    wait_health,
)
from tests.support.factory import Person
from tests.support.nodes import Nodes
from tests.support.users import PASSWORD, new_email

A, B = 0, 1
PG_DOWN_S = 10.0
RECOVER_WITHIN_S = 10.0
COMMENT = "Your hiking photos are great"
KEEP_ALIVE_REQUESTS = 30


async def http_probe(method: str, url: str, **kwargs: Any) -> tuple[int, Any, float]:
    """One request on a fresh connection: (status, JSON body or None, seconds); fails if no answer in 5 s."""
    started = time.monotonic()
    try:
        async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S) as http:
            resp = await http.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        raise AssertionError(f"{method} {url}: no answer ({type(exc).__name__}) after "
                             f"{time.monotonic() - started:.2f}s") from None
    try:
        body = resp.json()
    except ValueError:
        body = None
    return resp.status_code, body, time.monotonic() - started


def assert_internal_error(status: int, body: Any, what: str) -> None:
    """A 5xx whose body is the contract's error shape with code ``internal``."""
    assert status >= 500, f"{what}: {status} {body}"
    assert isinstance(body, dict) and set(body) == {"error"}, f"{what}: not the error shape: {body}"
    error = body["error"]
    assert error.get("code") == "internal" and isinstance(error.get("message"), str) and error["message"], \
        f"{what}: {error}"


async def socket_error(client: Recorder, command: str, data: dict[str, Any]) -> tuple[str, float]:
    """Call ``command`` expecting an error reply within 5 s; return (code, seconds)."""
    started = time.monotonic()
    try:
        await client.call(command, data, timeout=REQUEST_TIMEOUT_S)
    except ClientError as exc:
        return exc.code, time.monotonic() - started
    except TimeoutError:
        raise AssertionError(f"{command}: no reply within {REQUEST_TIMEOUT_S}s with PostgreSQL down") from None
    except Closed as exc:
        raise AssertionError(f"{command}: the socket closed ({exc.code}) instead of an error reply") from None
    raise AssertionError(f"{command} succeeded with PostgreSQL down")


async def scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar_one()


async def test_postgres_stopped_10s_fast_errors_no_partial_writes_full_recovery(
        infra: Infra, cluster: Nodes, fault_engine: AsyncEngine) -> None:
    """PostgreSQL down 10 s: 503/500/internal within 5 s, sockets stay open, nothing half-written, then all works."""
    pair = await matched_pair(fault_engine)
    liker, target, admirer = [await member(fault_engine, n) for n in ("Lee", "Tia", "Ada")]
    urls = [cluster[A].ws_url, cluster[B].ws_url]
    pids = [n.process.pid for n in cluster.nodes if n.process is not None]
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(Recorder(urls, pair.a.token))
        b = await stack.enter_async_context(Recorder(urls[::-1], pair.b.token))
        lee = await stack.enter_async_context(Recorder(urls, liker.token))
        ada = await stack.enter_async_context(Recorder(urls[::-1], admirer.token))
        sockets = {"a": (a, pair.a.id), "b": (b, pair.b.id), "lee": (lee, liker.id), "ada": (ada, admirer.id)}
        # Ada likes Lee first: Lee's like back would make a match, if it ever went through during the outage
        assert (await ada.call("like", {"user_id": str(liker.id), "comment": COMMENT}))["match"] is None
        chatters = [Chatter(a, pair.match_id, "a"), Chatter(b, pair.match_id, "b")]
        health = await stack.enter_async_context(HealthWatch(cluster))
        stop = asyncio.Event()
        chatting = [asyncio.create_task(c.run(stop)) for c in chatters]
        try:
            await asyncio.sleep(0.5)
            stopping_at = time.monotonic()
            await asyncio.to_thread(infra.stop_postgres)
            down_at = time.monotonic()

            probes = await rest_during_outage(cluster, liker)
            await sockets_during_outage(lee, a, outage_commands(pair, target, admirer), probes)
            refused, probes["new socket"] = await new_socket_refused(urls[0], liker.token)
            assert probes["new socket"] < REQUEST_TIMEOUT_S, probes

            await asyncio.sleep(max(0.0, PG_DOWN_S - (time.monotonic() - stopping_at)))
            starting_at = time.monotonic()
            await asyncio.to_thread(infra.start_postgres)
            up_at = time.monotonic()

            # -- recovery, without restarting anything: same sockets, new logins, new sockets -------------------
            async with asyncio.timeout(RECOVER_WITHIN_S):
                sends_back = await asyncio.gather(*(first_ok_after(c, up_at) for c in chatters))
                login_back, fresh_token = await login_works(cluster[A].base_url, liker, up_at)
            async with Recorder(urls[1], fresh_token) as fresh:
                assert fresh.hello is not None and fresh.hello["user_id"] == str(liker.id)
            await asyncio.sleep(0.3)
        finally:
            stop.set()
            await asyncio.gather(*chatting)
        assert [n.process.pid for n in cluster.nodes if n.process is not None] == pids, "a node was restarted"
        for name, (client, _) in sockets.items():
            assert client.reconnects == 0 and client.close_code is None, f"{name}'s socket dropped"

        sent, slowest, refused_sends = check_sends(chatters, down_at, starting_at)
        outage = (down_at, starting_at)
        await check_no_partial_writes(fault_engine, pair, refused_sends, outage, liker, target, admirer)
        await check_retries_store_once(fault_engine, pair, chatters, len(sent))
        await check_refused_likes_work_now(fault_engine, lee, liker, target, admirer)
        checked = await check_sockets_have_the_database(fault_engine, sockets)

    back_200 = health_report(health, stopping_at, up_at)
    print(f"\npostgres stopped {PG_DOWN_S:.0f}s (stop took {down_at - stopping_at:.2f}s, start "
          f"{up_at - starting_at:.2f}s): slowest answers during the outage: "
          + ", ".join(f"{k} {ms(v)}" for k, v in probes.items())
          + f"; new socket refused with {refused}; {len(sent)} sends, {len(refused_sends)} refused `internal` "
          f"(slowest reply {ms(slowest)}), retried with the same client_msg_id: one row each; recovery: sends on "
          f"the same sockets ok after {', '.join(ms(t) for t in sends_back)}, login after {ms(login_back)}; "
          + "; ".join(back_200) + f"; {checked} durable events checked, 0 lost")


# -- the steps of the outage test ----------------------------------------------------------------------------

async def rest_during_outage(cluster: Nodes, liker: Person) -> dict[str, float]:
    """REST: health 503 with database "error"; everything else a 5xx in the error shape. Return the timings."""
    probes: dict[str, float] = {}
    for node in (A, B):
        status, body, took = await http_probe("GET", f"{cluster[node].base_url}/v1/health")
        assert status == 503, (status, body)
        assert body["status"] == "degraded" and body["checks"] == {"database": "error", "redis": "ok"}, body
        probes[f"health {'AB'[node]}"] = took
    base = cluster[A].base_url
    status, body, probes["login"] = await http_probe(
        "POST", f"{base}/v1/auth/login", json={"email": liker.email, "password": PASSWORD})
    assert_internal_error(status, body, "login")
    status, body, probes["signup"] = await http_probe(
        "POST", f"{base}/v1/auth/signup", json={"email": new_email(), "password": PASSWORD,
                                                "display_name": "Newt", "birthdate": "1990-01-01"})
    assert_internal_error(status, body, "signup")
    status, body, probes["photos"] = await http_probe(
        "GET", f"{base}/v1/profile/photos", headers={"Authorization": f"Bearer {liker.token}"})
    assert_internal_error(status, body, "GET /v1/profile/photos")
    return probes


def outage_commands(pair: Pair, target: Person, admirer: Person) -> list[tuple[str, dict[str, Any]]]:
    """The socket commands tried during the outage: each needs the database."""
    return [
        ("like", {"user_id": str(target.id), "comment": COMMENT}),
        ("like", {"user_id": str(admirer.id), "comment": COMMENT + "!"}),
        ("me.get", {}), ("matches.list", {}), ("likes.pending", {}), ("discovery.request", {"count": 5}),
        ("messages.history", {"match_id": str(pair.match_id)})]


async def sockets_during_outage(lee: Recorder, a: Recorder, commands: list[tuple[str, dict[str, Any]]],
                                probes: dict[str, float]) -> None:
    """Sockets: `internal` replies within 5 s (timings into ``probes``), and the sockets stay open."""
    for command, data in commands:
        code, took = await socket_error(lee if command != "messages.history" else a, command, data)
        assert code == "internal", (command, code)
        probes[command] = max(took, probes.get(command, 0.0))
    assert (await lee.call("ping", timeout=REQUEST_TIMEOUT_S))["time"]  # needs no database


async def new_socket_refused(url: str, token: str) -> tuple[str, float]:
    """A new socket is refused quickly (its token cannot be checked), not left hanging: (how, seconds)."""
    started = time.monotonic()
    try:
        async with Recorder(url, token, reconnect_attempts=1):
            raise AssertionError("a socket was authenticated with PostgreSQL down")
    except Closed as exc:
        refused = f"close {exc.code} ({exc.reason})"
    return refused, time.monotonic() - started


async def first_ok_after(chatter: Chatter, up_at: float) -> float:
    """Seconds from ``up_at`` to the reply of the chatter's first successful send made after it."""
    while not any(s.ok and s.sent_at >= up_at for s in chatter.sent):
        await asyncio.sleep(0.05)
    return min(s.replied_at or 0 for s in chatter.sent if s.ok and s.sent_at >= up_at) - up_at


async def login_works(base: str, liker: Person, up_at: float) -> tuple[float, str]:
    """Log in until it works: (seconds from ``up_at``, the new access token)."""
    while True:
        status, body, _ = await http_probe("POST", f"{base}/v1/auth/login",
                                           json={"email": liker.email, "password": PASSWORD})
        if status == 200:
            return time.monotonic() - up_at, str(body["access_token"])
        await asyncio.sleep(0.1)


def check_sends(chatters: list[Chatter], down_at: float, starting_at: float) -> tuple[list[Sent], float, list[Sent]]:
    """Every send was answered within 5 s, ok or `internal`: (every send, the slowest reply, the refused ones)."""
    sent = [s for c in chatters for s in c.sent]
    assert all(s.unanswered == 0 for s in sent), "a send got no reply"
    slowest = max((s.replied_at or 0) - s.sent_at for s in sent)
    assert slowest < REQUEST_TIMEOUT_S, f"a send took {slowest:.1f}s"
    errors = {s.error for s in sent if not s.ok}
    assert errors <= {"internal"}, errors
    refused_sends = [s for s in sent if not s.ok]
    assert len([s for s in refused_sends if down_at <= s.sent_at <= starting_at]) >= 10
    return sent, slowest, refused_sends


async def check_no_partial_writes(engine: AsyncEngine, pair: Pair, refused_sends: list[Sent],
                                  outage: tuple[float, float], liker: Person, target: Person,
                                  admirer: Person) -> None:
    """Nothing of the refused likes, no message of a send refused during the outage."""
    down_at, starting_at = outage
    rows = {r[2]: r for r in await message_rows(engine, pair.match_id)}
    for s in refused_sends:
        if down_at <= s.sent_at and (s.replied_at or 0) <= starting_at:
            assert s.client_msg_id not in rows, f"refused send {s.client_msg_id} left a message row"
    assert await scalar(engine, "SELECT count(*) FROM likes WHERE liker_id = :u", u=liker.id) == 0
    assert await scalar(engine, "SELECT coalesce(sum(count), 0) FROM daily_like_counts WHERE user_id = :u",
                        u=liker.id) == 0
    assert await scalar(engine, "SELECT count(*) FROM matches WHERE :u IN (user_a, user_b)", u=liker.id) == 0
    assert await scalar(engine, "SELECT count(*) FROM user_events WHERE user_id IN (:t, :a)",
                        t=target.id, a=admirer.id) == 0


async def check_retries_store_once(engine: AsyncEngine, pair: Pair, chatters: list[Chatter], sends: int) -> None:
    """Refused sends retried with the same client_msg_id: one message each, nothing twice."""
    for chatter in chatters:
        for s in chatter.sent:
            if not s.ok:
                await chatter.send(s)
                assert s.ok, (s.client_msg_id, s.error)
    rows_after = await message_rows(engine, pair.match_id)
    assert sorted(r[0] for r in rows_after) == sorted(c_id for c in chatters for c_id in c.ok_ids())
    assert len(rows_after) == sends


async def check_refused_likes_work_now(engine: AsyncEngine, lee: Recorder, liker: Person, target: Person,
                                       admirer: Person) -> None:
    """The likes refused during the outage work now, counted once."""
    first = await lee.call("like", {"user_id": str(target.id), "comment": COMMENT})
    assert first["match"] is None and first["likes_left_today"] == 9
    back = await lee.call("like", {"user_id": str(admirer.id), "comment": COMMENT + "!"})
    assert back["match"] is not None and back["likes_left_today"] == 8
    assert await scalar(engine, "SELECT count(*) FROM matches WHERE :u IN (user_a, user_b)", u=liker.id) == 1


async def check_sockets_have_the_database(engine: AsyncEngine,
                                          sockets: dict[str, tuple[Recorder, uuid.UUID]]) -> int:
    """Every socket has exactly what the database has; return how many durable events were compared."""
    checked = 0
    for name, (client, user) in sockets.items():
        await client.catch_up()
        stored = await stored_events(engine, user)
        assert not diff(client.durable, stored), f"{name}: {diff(client.durable, stored)}"
        checked += len(stored)
    return checked


def health_report(health: HealthWatch, stopping_at: float, up_at: float) -> list[str]:
    """Each node answered 503 after the stop and 200 after the start: one line each, with how soon."""
    back_200 = []
    for node in (A, B):
        first_503 = health.first(node, 503, stopping_at)
        first_200 = health.first(node, 200, up_at)
        assert first_503 is not None and first_200 is not None
        back_200.append(f"node {'AB'[node]} 503 from {ms(first_503.at + first_503.took - stopping_at)} after the "
                        f"stop, 200 {ms(first_200.at + first_200.took - up_at)} after the start")
    return back_200


async def test_sync_during_postgres_outage_gets_an_error_reply_and_keeps_the_socket(
        infra: Infra, cluster: Nodes, fault_engine: AsyncEngine) -> None:
    """A `sync` sent while PostgreSQL is down is answered `internal`, and the socket stays open for later."""
    pair = await matched_pair(fault_engine)
    async with Recorder(cluster[A].ws_url, pair.a.token, auto_resume=False) as a:
        await a.call("messages.send", {"match_id": str(pair.match_id), "body": "hi", "client_msg_id": "s1"})
        await a.wait_until(lambda: len(a.durable) == 1, what="the message.created event")
        await asyncio.to_thread(infra.stop_postgres)
        try:
            started = time.monotonic()
            try:
                await a.call("sync", {"after": 0}, timeout=REQUEST_TIMEOUT_S)
                outcome = "ok"
            except ClientError as exc:
                outcome = exc.code
            except Closed as exc:
                outcome = f"socket closed {exc.code}"
            took = time.monotonic() - started
        finally:
            await asyncio.to_thread(infra.start_postgres)
        print(f"\nsync with PostgreSQL down: {outcome} after {ms(took)}")
        assert outcome == "internal", f"sync during the outage: {outcome} (expected an `internal` error reply)"
        assert a.close_code is None
        # the socket still works once the database is back
        await a.call("messages.send", {"match_id": str(pair.match_id), "body": "again", "client_msg_id": "s2"},
                     timeout=RECOVER_WITHIN_S)
        assert (await a.call("sync", {"after": 0}))["last_seq"] == 2



async def test_keep_alive_requests_during_postgres_outage_all_get_an_answer(
        infra: Infra, cluster: Nodes, fault_engine: AsyncEngine) -> None:
    """With PostgreSQL down, back-to-back requests on one keep-alive connection each get the JSON 5xx, no reset."""
    person = await member(fault_engine)
    outcomes: dict[str, int] = {}
    await asyncio.to_thread(infra.stop_postgres)
    try:
        async with httpx.AsyncClient(base_url=cluster[A].base_url, timeout=REQUEST_TIMEOUT_S) as http:
            for _ in range(KEEP_ALIVE_REQUESTS):
                try:
                    resp = await http.get("/v1/profile/photos", headers={"Authorization": f"Bearer {person.token}"})
                    assert_internal_error(resp.status_code, resp.json(), "GET /v1/profile/photos")
                    outcome = str(resp.status_code)
                except httpx.TransportError as exc:
                    outcome = type(exc).__name__
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
    finally:
        await asyncio.to_thread(infra.start_postgres)
    print(f"\n{KEEP_ALIVE_REQUESTS} back-to-back requests on one connection with PostgreSQL down: {outcomes}")
    # a database outage is a dependency being away: 503 with code internal (and Retry-After)
    assert outcomes == {"503": KEEP_ALIVE_REQUESTS}, \
        f"some requests got a transport error instead of the error body: {outcomes}"


async def test_node_started_while_postgres_is_down_serves_once_it_is_back(
        infra: Infra, cluster: Nodes, fault_engine: AsyncEngine) -> None:
    """A node (re)started during a PostgreSQL outage comes up degraded (503) and serves once it is back."""
    pair = await matched_pair(fault_engine)
    cluster.kill(B)
    await asyncio.to_thread(infra.stop_postgres)
    restarting = asyncio.create_task(cluster.restart(B))  # healthy only once PostgreSQL is back
    try:
        status, took = await wait_health(cluster[B].base_url, 503, within_s=15)
        assert status == 503, f"node B answered {status} while starting with PostgreSQL down"
        status, body, _ = await http_probe("GET", f"{cluster[B].base_url}/v1/health")
        assert body["checks"] == {"database": "error", "redis": "ok"}, body
        started = time.monotonic()
        try:
            async with Recorder(cluster[B].ws_url, pair.b.token, reconnect_attempts=1):
                raise AssertionError("a socket was authenticated with PostgreSQL down")
        except Closed:
            refused = time.monotonic() - started
        assert refused < REQUEST_TIMEOUT_S
    finally:
        await asyncio.to_thread(infra.start_postgres)
        up_at = time.monotonic()
        await restarting
    healthy = time.monotonic() - up_at
    async with Recorder(cluster[A].ws_url, pair.a.token) as a, Recorder(cluster[B].ws_url, pair.b.token) as b:
        sent = await a.call("messages.send", {"match_id": str(pair.match_id), "body": "hi", "client_msg_id": "m1"})
        await b.wait_until(lambda: 1 in b.durable, what="the message on node B")
        assert b.message_ids() == [sent["message"]["id"]]
    print(f"\nnode B started during a PostgreSQL outage: health 503 after {took:.1f}s, sockets refused in "
          f"{ms(refused)}; healthy {ms(healthy)} after PostgreSQL was back, then chat across nodes worked")
