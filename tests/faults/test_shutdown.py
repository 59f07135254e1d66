"""Issue 7, items 3 and 4: a node SIGKILLed while its users chat, and SIGTERM with 500 open sockets.

Already covered in tests/realtime: a SIGKILLed node with raw events appended by the test process, and
SIGTERM with 20 sockets. Here the users chat for real (``messages.send`` with ok replies), the clients are
``DeleteClient``s with both node URLs, and SIGTERM meets 500 sockets.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from contextlib import AsyncExitStack

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from delete_api.app import GRACEFUL_SHUTDOWN_S
from tests.faults.support import (
    Chatter,
    Pair,
    Recorder,
    Sent,
    diff,
    matched_pair,
    member,
    message_rows,
    ms,
    raise_fd_limit,
    stored_events,
    unique,
)
from tests.support.factory import Person
from tests.support.nodes import Device, Nodes, connect_device

A, B = 0, 1
RECONNECT_WITHIN_S = 5.0
BURST = 40  # sends in flight at the kill: more than a quick node answers within the 10 ms before it
SOCKETS = 500
CONNECT_CONCURRENCY = 50


async def check_pairs(engine: AsyncEngine, pairs: list[Pair], chatters: list[Chatter],
                      clients: dict[str, Recorder]) -> int:
    """Every ok message is stored once and reached both members; every socket has exactly the database's events.

    Returns the number of durable events checked.
    """
    checked = 0
    for i, pair in enumerate(pairs):
        pair_chatters = chatters[2 * i: 2 * i + 2]
        rows = await message_rows(engine, pair.match_id)
        assert unique(r[2] + r[1] for r in rows), "a client_msg_id was stored twice"
        assert len(rows) == sum(len(c.sent) for c in pair_chatters), "a message is missing or doubled"
        ok = set().union(*(c.ok_ids() for c in pair_chatters))
        assert {r[0] for r in rows} == ok
        for name, person in ((f"a{i}", pair.a), (f"b{i}", pair.b)):
            client = clients[name]
            await client.catch_up()
            stored = await stored_events(engine, person.id)
            assert not diff(client.durable, stored), f"{name}: {diff(client.durable, stored)}"
            ids = client.message_ids()
            assert sorted(ids) == sorted(ok), f"{name} did not get every acknowledged message exactly once"
            checked += len(stored)
    return checked


async def test_sigkill_of_a_node_mid_chat_loses_no_message(cluster: Nodes, fault_engine: AsyncEngine) -> None:
    """Node B dies (SIGKILL) mid-chat: clients resume on node A and every acknowledged message arrives once."""
    pairs = [await matched_pair(fault_engine) for _ in range(2)]
    to_b, to_a = [cluster[B].ws_url, cluster[A].ws_url], [cluster[A].ws_url, cluster[B].ws_url]
    async with AsyncExitStack() as stack:
        clients: dict[str, Recorder] = {}
        # pair 0 both on node B; pair 1 split across the nodes
        clients["a0"] = await stack.enter_async_context(Recorder(to_b, pairs[0].a.token))
        clients["b0"] = await stack.enter_async_context(Recorder(to_b, pairs[0].b.token))
        clients["a1"] = await stack.enter_async_context(Recorder(to_a, pairs[1].a.token))
        clients["b1"] = await stack.enter_async_context(Recorder(to_b, pairs[1].b.token))
        chatters = [Chatter(clients[f"{m}{i}"], p.match_id, f"{m}{i}", interval_s=0.05)
                    for i, p in enumerate(pairs) for m in "ab"]
        stop = asyncio.Event()
        chatting = [asyncio.create_task(c.run(stop)) for c in chatters]
        sending: list[asyncio.Task[Sent]] = []
        try:
            await asyncio.sleep(1.5)
            # a burst in flight at the moment of the kill: some stored without a reply, some never read
            burst = [Sent(f"burst-{n}", f"burst {n}", time.monotonic()) for n in range(BURST)]
            chatters[0].sent += burst
            sending += [asyncio.create_task(chatters[0].send(item)) for item in burst]
            await asyncio.sleep(0.01)  # the frames are written and the node is working through them
            killed_at, killed_wall = time.monotonic(), time.time()
            cluster.kill(B)
            on_b = [clients[n] for n in ("a0", "b0", "b1")]
            async with asyncio.timeout(RECONNECT_WITHIN_S):
                while not all(c.reconnects for c in on_b):
                    await asyncio.sleep(0.01)
            reconnected = time.monotonic() - killed_at
            await asyncio.sleep(1.5)
        finally:
            stop.set()
            await asyncio.gather(*chatting, *sending)

        sent = [s for c in chatters for s in c.sent]
        assert all(s.ok for s in sent), [(s.client_msg_id, s.error) for s in sent if not s.ok][:5]
        retried = [s for s in sent if s.unanswered]
        assert any(s.unanswered for s in burst), "no send of the burst was left without a reply by the kill"
        async with fault_engine.connect() as conn:  # re-sends whose first attempt was stored without a reply
            stored_before = (await conn.execute(text(
                "SELECT count(*) FROM messages WHERE match_id = :m AND client_msg_id = ANY(:ids) "
                "AND created_at < to_timestamp(:t)"),
                {"m": pairs[0].match_id, "ids": [s.client_msg_id for s in retried], "t": killed_wall})).scalar_one()
        resumed_sends = [s.replied_at for c in chatters[:2] + chatters[3:] for s in c.sent
                         if s.replied_at and s.sent_at >= killed_at]
        assert resumed_sends, "nobody sent anything on node A after the kill"
        checked = await check_pairs(fault_engine, pairs, chatters, clients)
        assert clients["a1"].reconnects == 0
        assert all(c.close_code == 1006 for c in on_b)
    print(f"\nnode B SIGKILLed mid-chat: {len(sent)} messages sent, {len(retried)} had no reply and were re-sent "
          f"with the same client_msg_id ({stored_before} of them stored before the kill; one row each); all 3 "
          f"clients of node B resumed on node A within {ms(reconnected)}; {checked} durable events checked, 0 lost")


async def open_devices(url: str, people: list[Person], count: int) -> list[Device]:
    """``count`` raw sockets spread over ``people``, opened ``CONNECT_CONCURRENCY`` at a time."""
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(i: int) -> Device:
        async with gate:
            return await connect_device(url, people[i % len(people)].token)

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def refused(url: str, token: str) -> str:
    """Try to open a socket; describe how it failed (raises if it got a ``hello``)."""
    try:
        async with asyncio.timeout(5), connect(url, additional_headers={"Authorization": f"Bearer {token}"},
                                               open_timeout=5) as ws:
            frame = json.loads(await ws.recv())
    except OSError as exc:
        return f"{type(exc).__name__}"
    except InvalidStatus as exc:
        return f"HTTP {exc.response.status_code}"
    except Exception as exc:  # closed before hello, or no answer
        return f"{type(exc).__name__}"
    raise AssertionError(f"a new socket was accepted during shutdown: {frame}")


async def test_sigterm_with_500_sockets_refuses_upgrades_closes_1012_and_loses_nothing(
        cluster: Nodes, fault_engine: AsyncEngine) -> None:
    """SIGTERM on a node with 500 sockets: no new upgrades, all 500 closed 1012, exit in time, no ack lost."""
    raise_fd_limit(4 * SOCKETS)
    pairs = [await matched_pair(fault_engine) for _ in range(3)]
    crowd = [await member(fault_engine, f"C{i}") for i in range(50)]
    to_b = [cluster[B].ws_url, cluster[A].ws_url]
    node_b = cluster[B].process
    assert node_b is not None
    async with AsyncExitStack() as stack:
        clients: dict[str, Recorder] = {}
        for i, pair in enumerate(pairs):
            clients[f"a{i}"] = await stack.enter_async_context(Recorder(to_b, pair.a.token))
            clients[f"b{i}"] = await stack.enter_async_context(Recorder(to_b, pair.b.token))
        started = time.monotonic()
        devices = await open_devices(cluster[B].ws_url, crowd, SOCKETS - len(clients))
        for device in devices:
            stack.push_async_callback(device.close)
        opened_s = time.monotonic() - started
        chatters = [Chatter(clients[f"{m}{i}"], p.match_id, f"{m}{i}", interval_s=0.05)
                    for i, p in enumerate(pairs) for m in "ab"]
        stop = asyncio.Event()
        chatting = [asyncio.create_task(c.run(stop)) for c in chatters]
        try:
            await asyncio.sleep(1.0)
            term_at = time.monotonic()
            node_b.send_signal(signal.SIGTERM)
            acked_before = [s for c in chatters for s in c.sent if s.ok and (s.replied_at or 0) <= term_at]

            # once the node has begun closing sockets, a new upgrade must fail
            first_close = asyncio.get_running_loop().create_future()

            async def watch(device: Device) -> int:
                code = await device.wait_closed(GRACEFUL_SHUTDOWN_S + 5)
                if not first_close.done():
                    first_close.set_result(time.monotonic())
                return code

            closing = asyncio.gather(*(watch(d) for d in devices))
            first_close_at = await asyncio.wait_for(first_close, GRACEFUL_SHUTDOWN_S)
            refusals: list[str] = []
            while node_b.poll() is None and len(refusals) < 5:
                refusals.append(await refused(cluster[B].ws_url, crowd[0].token))
                await asyncio.sleep(0.05)
            codes = await closing
            all_closed_at = time.monotonic()
            exit_code = await asyncio.to_thread(node_b.wait, GRACEFUL_SHUTDOWN_S + 5)
            exited_at = time.monotonic()
            await asyncio.sleep(1.0)  # the clients resume on node A and chat on
        finally:
            stop.set()
            await asyncio.gather(*chatting)

        assert refusals, "the node exited before an upgrade could be tried"
        counted = {code: codes.count(code) for code in set(codes)}
        client_codes = [c.close_code for c in clients.values()]
        assert counted == {1012: len(devices)} and client_codes == [1012] * len(clients), (counted, client_codes)
        took = exited_at - term_at
        assert exit_code == 0, cluster.log_tail(B)
        assert took < GRACEFUL_SHUTDOWN_S, f"node B took {took:.1f}s to exit after SIGTERM"

        # nothing acknowledged is lost: acked before SIGTERM -> stored and delivered after resume on node A
        assert all(c.reconnects >= 1 for c in clients.values())
        sent = [s for c in chatters for s in c.sent]
        assert all(s.ok for s in sent), [(s.client_msg_id, s.error) for s in sent if not s.ok][:5]
        checked = await check_pairs(fault_engine, pairs, chatters, clients)
        for i in range(len(pairs)):
            got = set(clients[f"a{i}"].message_ids()) & set(clients[f"b{i}"].message_ids())
            assert {s.message_id for s in acked_before if s.client_msg_id[1:].startswith(f"{i}-")} <= got
    print(f"\nSIGTERM with {SOCKETS} sockets (opened in {opened_s:.1f}s): first 1012 after "
          f"{ms(first_close_at - term_at)}, all {SOCKETS} closed 1012 after {ms(all_closed_at - term_at)}, "
          f"exit {exit_code} after {took:.2f}s (drain timeout {GRACEFUL_SHUTDOWN_S}s); new upgrades during "
          f"shutdown: {sorted(set(refusals))}; {len(acked_before)} messages acknowledged before SIGTERM, "
          f"{len(sent)} in all, {sum(1 for s in sent if s.unanswered)} re-sent after no reply; {checked} durable "
          f"events checked, 0 lost")
