"""Issue 7, item 1: Redis SIGKILLed for 5 s while people chat across two nodes.

Already covered in tests/realtime/test_faults.py: a clean Redis stop with raw events appended by the test
process. Here Redis crashes (SIGKILL) under real ``messages.send`` traffic on both nodes.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import AsyncExitStack

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.faults.support import (
    REQUEST_TIMEOUT_S,
    Chatter,
    Event,
    HealthWatch,
    Infra,
    Recorder,
    diff,
    matched_pair,
    message_rows,
    ms,
    stored_events,
    wait_for_all,
    wait_health,
)
from tests.support.nodes import Nodes, event_source
from tests.support.users import PASSWORD

A, B = 0, 1
PAIRS = 3
REDIS_DOWN_S = 5.0
DETECT_WITHIN_S = 1.5  # health must turn 503 this soon after the kill
RECOVER_WITHIN_S = 5.0  # ... and 200 again this soon after the restart began
CAUGHT_UP_WITHIN_S = 6.0  # sockets get what they missed, unasked, this soon after the restart
SEND_REPLY_WITHIN_S = 2.0  # a send's reply while Redis is down (measured: ~0.1 s)


async def test_redis_sigkill_mid_chat_loses_nothing(infra: Infra, cluster: Nodes, fault_engine: AsyncEngine) -> None:
    """Redis crashes for 5 s mid-chat: sends still succeed, health is 503 then 200, and nobody loses an event."""
    pairs = [await matched_pair(fault_engine) for _ in range(PAIRS)]
    urls = [cluster[A].ws_url, cluster[B].ws_url]
    async with AsyncExitStack() as stack:
        clients: dict[str, Recorder] = {}
        chatters: list[Chatter] = []
        for i, pair in enumerate(pairs):
            # a on node A, b on node B: every message crosses nodes through Redis
            clients[f"a{i}"] = await stack.enter_async_context(Recorder(urls, pair.a.token))
            clients[f"b{i}"] = await stack.enter_async_context(Recorder(urls[::-1], pair.b.token))
            chatters += [Chatter(clients[f"a{i}"], pair.match_id, f"a{i}"),
                         Chatter(clients[f"b{i}"], pair.match_id, f"b{i}")]
        users = {f"a{i}": p.a.id for i, p in enumerate(pairs)} | {f"b{i}": p.b.id for i, p in enumerate(pairs)}
        users["late"] = pairs[0].a.id
        starts = {name: 0 for name in clients}  # fresh users: nothing stored before
        health = await stack.enter_async_context(HealthWatch(cluster))

        stop = asyncio.Event()
        chatting = [asyncio.create_task(c.run(stop)) for c in chatters]
        try:
            await asyncio.sleep(1.0)
            killed_at = time.monotonic()
            infra.kill_redis()
            # a device that comes online while Redis is down (its node cannot subscribe it yet)
            late = await stack.enter_async_context(Recorder(urls[::-1], pairs[0].a.token))
            starts["late"] = int(late.hello["last_seq"]) if late.hello else 0
            # logins work too: the login throttle lets attempts through without Redis (README "Login failures")
            async with httpx.AsyncClient(base_url=cluster[A].base_url, timeout=REQUEST_TIMEOUT_S) as http:
                good = await http.post("/v1/auth/login", json={"email": pairs[1].a.email, "password": PASSWORD})
                bad = await http.post("/v1/auth/login", json={"email": pairs[1].a.email, "password": "wrong" * 3})
            assert (good.status_code, bad.status_code) == (200, 401), (good.text, bad.text)
            await asyncio.sleep(REDIS_DOWN_S - (time.monotonic() - killed_at))
            restarted_at = time.monotonic()
            await asyncio.to_thread(infra.start_redis)
            redis_up_at = time.monotonic()
            await asyncio.sleep(1.5)  # chat on a little after the restart
        finally:
            stop.set()
            await asyncio.gather(*chatting)

        everyone = {**clients, "late": late}

        # -- writes kept working: every send got an ok reply, promptly, also while Redis was down ------------
        sent = [s for c in chatters for s in c.sent]
        during = [s for s in sent if killed_at <= s.sent_at <= restarted_at]
        assert len(during) >= 6 * PAIRS * 2, f"only {len(during)} sends during the outage"
        failed = [(s.client_msg_id, s.error, s.unanswered) for s in sent if not s.ok]
        assert not failed, f"sends that did not succeed: {failed[:10]}"
        slowest = max((s.replied_at or 0) - s.sent_at for s in during)
        assert slowest < SEND_REPLY_WITHIN_S, f"a send took {slowest:.2f}s while Redis was down"
        assert all(c.reconnects == 0 for c in clients.values()), "a Redis outage dropped a client's socket"

        # -- health: 503 (redis "error") while down, 200 again after ------------------------------------------
        windows = []
        for node in (A, B):
            first_503 = health.first(node, 503, killed_at)
            assert first_503 is not None, f"node {node} never answered 503 with Redis down"
            assert first_503.checks == {"database": "ok", "redis": "error"}, first_503.checks
            detect = first_503.at + first_503.took - killed_at
            assert detect < DETECT_WITHIN_S, f"node {node}: 503 only {detect:.2f}s after the kill"
            settled = [s for s in health.between(node, first_503.at, restarted_at) if s.status != 503]
            assert not settled, f"node {node} answered {settled[0].status} while Redis was down"
            back = health.first(node, 200, restarted_at)
            assert back is not None, f"node {node} never answered 200 again"
            recover = back.at + back.took - restarted_at
            assert recover < RECOVER_WITHIN_S, f"node {node}: 200 only {recover:.2f}s after the Redis restart"
            windows.append(f"node {'AB'[node]}: 503 {ms(detect)} after the kill, 200 {ms(recover)} after the "
                           f"restart began (503 window {back.at + back.took - first_503.at - first_503.took:.2f}s)")

        # -- nothing lost: without asking, each socket's node catches it up; then sync changes nothing ------------
        expected: dict[str, dict[int, Event]] = {}
        for name in everyone:
            stored = await stored_events(fault_engine, users[name])
            expected[name] = {seq: e for seq, e in stored.items() if seq > starts[name]}
        for name, client in everyone.items():
            await wait_for_all(client, expected[name], CAUGHT_UP_WITHIN_S, name)
        caught_up = time.monotonic() - redis_up_at
        lost = 0
        for name, client in everyone.items():
            await client.catch_up()
            lost += len(set(expected[name]) - set(client.durable))
            assert not diff(client.durable, expected[name]), f"{name}: {diff(client.durable, expected[name])}"
            assert client.arrivals == sorted(client.arrivals), f"{name}: events out of seq order"
        assert lost == 0

        # every ok reply is a stored message that both members received exactly once
        for i, pair in enumerate(pairs):
            rows = await message_rows(fault_engine, pair.match_id)
            ok = chatters[2 * i].ok_ids() | chatters[2 * i + 1].ok_ids()
            assert {r[0] for r in rows} == ok
            for name in (f"a{i}", f"b{i}"):
                assert sorted(everyone[name].message_ids()) == sorted(ok), f"{name}: not each message exactly once"

    events = sum(len(e) for e in expected.values())
    print(f"\nredis SIGKILL {REDIS_DOWN_S:.0f}s: {len(sent)} sends ({len(during)} while Redis was down, slowest "
          f"reply then {ms(slowest)}), {events} durable events checked on {len(everyone)} sockets, lost {lost}; "
          f"all sockets caught up {caught_up:.2f}s after Redis answered again (Redis start took "
          f"{redis_up_at - restarted_at:.2f}s); " + "; ".join(windows))


async def test_node_started_while_redis_is_down_catches_its_sockets_up(
        infra: Infra, cluster: Nodes, fault_engine: AsyncEngine) -> None:
    """A node (re)started during a Redis outage: once Redis is back, its sockets get what they missed unasked."""
    pair = await matched_pair(fault_engine)
    cluster.kill(B)
    infra.kill_redis()
    restarting = asyncio.create_task(cluster.restart(B))  # comes up degraded, healthy once Redis is back
    try:
        status, took = await wait_health(cluster[B].base_url, 503, within_s=15)
        assert status == 503, f"node B answered {status} while starting with Redis down"
        async with (Recorder(cluster[A].ws_url, pair.a.token) as a, Recorder(cluster[B].ws_url, pair.b.token) as b,
                    event_source(fault_engine, infra.redis.url, retry_buffer=0) as lossy):
            # a real message (node A keeps its publish for later) and events whose publish is lost for good,
            # like a node SIGKILLed between commit and publish: only the catch-up can bring these
            await a.call("messages.send", {"match_id": str(pair.match_id), "body": "hi", "client_msg_id": "m1"})
            seqs = [await lossy.append(pair.b.id, {"n": n}) for n in range(3)]
            assert seqs[-1] == 4
            await asyncio.to_thread(infra.start_redis)
            redis_up_at = time.monotonic()
            await restarting
            expected = await stored_events(fault_engine, pair.b.id)
            try:
                await wait_for_all(b, expected, CAUGHT_UP_WITHIN_S, "b")
                caught_up = f"after {time.monotonic() - redis_up_at:.2f}s"
            except AssertionError:
                caught_up = f"never (had {sorted(b.durable)} of {sorted(expected)})"
            print(f"\nnode B started during a Redis outage: health 503 after {took:.1f}s; its socket caught up "
                  f"{caught_up}")
            assert sorted(b.durable) == sorted(expected), \
                f"node B's socket did not catch up once Redis was back: had {sorted(b.durable)} of {sorted(expected)}"
    finally:
        if not infra.redis_running:
            await asyncio.to_thread(infra.start_redis)
        await restarting
