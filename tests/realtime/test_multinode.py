"""CONTRACT section 2 across real server processes: two `delete-api serve` nodes on one database and one Redis."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.factory import Person, make_match
from tests.support.nodes import (
    SERVER_PREFIX,
    EventSource,
    Nodes,
    SyncReply,
    connect_device,
    connect_stalled,
    drain,
    event_source,
    open_device,
    running_nodes,
    signup_user,
)

A, B = 0, 1
STALL_AFTER_FLOOD_S = 3.0


def flood_payload_bytes(events: int) -> int:
    """Bytes per event so that ``events`` of them overflow the kernel's socket buffers, not just the outbox.

    Linux grows a socket's send buffer up to ``tcp_wmem`` max (4 MiB here, about 2.8 MB of payload) before
    the server process feels any back-pressure, so 3,000 x 1 KB would simply be buffered by the kernel.
    """
    try:
        wmem_max = int(Path("/proc/sys/net/ipv4/tcp_wmem").read_text().split()[2])
    except (OSError, IndexError, ValueError):
        wmem_max = 4 * 1024 * 1024
    return max(1000, (2 * wmem_max + 1_000_000) // events)


@pytest.fixture(scope="module")
async def nodes(database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Nodes]:
    """Nodes A and B, started once for the module (output in <tmp>/multinode*/node-<i>.log)."""
    root: Path = tmp_path_factory.mktemp("multinode")
    async with running_nodes(2, database_url=database_url, redis_url=redis_url, root=root) as running:
        yield running


@pytest.fixture(scope="module")
async def events(engine: AsyncEngine, redis_url: str) -> AsyncIterator[EventSource]:
    """Durable events appended by the test process, which is no node."""
    async with event_source(engine, redis_url) as source:
        yield source


async def test_two_devices_on_two_nodes_get_every_event_once_in_order(nodes: Nodes, events: EventSource) -> None:
    """A user's phone on node A and tablet on node B each get every durable event exactly once, in seq order."""
    user = await signup_user(nodes[A].base_url)
    async with open_device(nodes[A].ws_url, user.token) as phone, open_device(nodes[B].ws_url, user.token) as tablet:
        base = phone.hello["data"]["last_seq"]
        assert tablet.hello["data"]["last_seq"] == base

        # four writers at once, so publishes reach Redis out of seq order now and then
        async def writer(k: int) -> list[int]:
            return [await events.append(user.id, {"writer": k, "n": i}) for i in range(50)]

        appended = sorted(s for part in await asyncio.gather(*(writer(k) for k in range(4))) for s in part)
        assert appended == list(range(base + 1, base + 201))
        for device in (phone, tablet):
            await device.wait_for_seqs(appended)
        await asyncio.sleep(0.2)  # a late duplicate would show up here
        assert phone.seqs == appended
        assert tablet.seqs == appended


async def test_sync_while_publishing_loses_and_reorders_nothing(nodes: Nodes, events: EventSource) -> None:
    """Events published while sync replays are neither lost nor reordered; deduped by seq, the client has each once."""
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    user = await signup_user(nodes[A].base_url)
    writers, per_writer = 6, 200  # 1,200 events
    async with open_device(nodes[A].ws_url, user.token) as device:
        base = device.hello["data"]["last_seq"]
        appended: list[int] = []
        replies: list[tuple[int, SyncReply]] = []
        writing = asyncio.Event()
        writing.set()

        async def writer(k: int) -> None:
            for i in range(per_writer):
                appended.append(await events.append(user.id, {"writer": k, "n": i}))
                if rng.random() < 0.3:
                    await asyncio.sleep(rng.random() * 0.004)

        async def syncer() -> None:
            while writing.is_set():
                await asyncio.sleep(rng.uniform(0.01, 0.08))
                after = rng.randint(0, device.max_seq)  # anything up to what the client has
                replies.append((after, await device.sync(after)))

        async with asyncio.timeout(40):
            sync_task = asyncio.create_task(syncer())
            await asyncio.gather(*(writer(k) for k in range(writers)))
            writing.clear()
            await sync_task
            final = await device.sync(device.max_seq)

        expected = list(range(base + 1, base + writers * per_writer + 1))
        assert sorted(appended) == expected, f"seed {seed}"
        assert final.last_seq == expected[-1], f"seed {seed}"
        assert device.received == set(expected), f"seed {seed}: missing {sorted(set(expected) - device.received)[:10]}"
        new_seqs = list(device.first_seen)  # insertion order = order of first arrival
        assert new_seqs == expected, f"seed {seed}: a new seq arrived after a higher one (a gap filled late)"
        for after, reply in replies:
            assert reply.last_seq >= reply.max_seq_before, f"seed {seed}: sync after {after} replied {reply.frame}"
        duplicates = len(device.seqs) - len(device.received)
        print(f"seed {seed}: {len(expected)} events, {len(replies)} syncs during publishing, "
              f"{duplicates} duplicate frames deduped")
        assert len(replies) >= 5, f"seed {seed}: only {len(replies)} syncs ran while publishing"


async def test_what_a_command_on_one_node_publishes_reaches_the_partner_on_the_other_live(nodes: Nodes,
                                                                                        engine: AsyncEngine) -> None:
    """A command's events fan out through its node's own publisher: typing (ephemeral, past the throttle) and a
    message (durable) sent on node A reach the partner's socket on node B at once, not through a later sync."""
    ann, bob = await signup_user(nodes[A].base_url, "Ann"), await signup_user(nodes[B].base_url, "Bob")
    match_id = str(await make_match(engine, Person(ann.id, "", ann.token), Person(bob.id, "", bob.token)))
    async with open_device(nodes[A].ws_url, ann.token) as ann_a, open_device(nodes[B].ws_url, bob.token) as bob_b:
        for _ in range(2):  # the second inside the throttle's interval is dropped on node A
            assert (await ann_a.command("typing", {"match_id": match_id})).frame["ok"] is True
        await bob_b.wait_until(lambda: any(f["type"] == "typing" for f in bob_b.others), timeout_s=2,
                               what="typing from node A")
        before = bob_b.max_seq
        sent = await ann_a.command("messages.send", {"match_id": match_id, "body": "hello from A",
                                                     "client_msg_id": str(uuid.uuid4())})
        assert sent.frame["ok"] is True, sent.frame
        await bob_b.wait_until(lambda: bob_b.max_seq > before, timeout_s=2, what="message.created from node A")
        await asyncio.sleep(0.5)
        assert [f["data"]["match_id"] for f in bob_b.others if f["type"] == "typing"] == [match_id]


async def test_events_and_control_reach_every_node(nodes: Nodes, events: EventSource) -> None:
    """Events appended outside any node reach node B, and a control close shuts the user's sockets on both nodes."""
    user = await signup_user(nodes[A].base_url)
    async with open_device(nodes[B].ws_url, user.token) as on_b, open_device(nodes[A].ws_url, user.token) as on_a:
        seqs = [await events.append(user.id, {"n": i}) for i in range(5)]
        await on_b.wait_for_seqs(seqs, timeout_s=5)
        await on_a.wait_for_seqs(seqs, timeout_s=5)

        await events.control(user.id, "close", code=4403, reason="account suspended")
        codes = list(await asyncio.gather(on_a.wait_closed(5), on_b.wait_closed(5)))
        assert codes == [4403, 4403]
        assert on_a.close_reason == on_b.close_reason == "account suspended"


async def test_slow_consumer_is_closed_1013_while_others_stay_prompt(nodes: Nodes, events: EventSource) -> None:
    """A socket that stops reading is closed with 1013, while another user's socket on that node stays within 1 s."""
    slow_user = await signup_user(nodes[A].base_url)
    fast_user = await signup_user(nodes[A].base_url)
    total, batch = 3000, 50
    pad = "x" * flood_payload_bytes(total)
    # when the node is done with the socket it removes it from the user's presence set in Redis: that is
    # the moment the server closed it, observable while the client itself is not reading
    presence_key = f"{SERVER_PREFIX}pres:{slow_user.id}"
    released_at: list[float] = []

    async def watch_release() -> None:
        while await events.redis.zcard(presence_key):
            await asyncio.sleep(0.05)
        released_at.append(time.monotonic())

    watcher: asyncio.Task[None] | None = None
    stalled = await connect_stalled(nodes[A].ws_url, slow_user.token)
    try:
        async with asyncio.timeout(5):
            while not await events.redis.zcard(presence_key):
                await asyncio.sleep(0.02)
        async with open_device(nodes[A].ws_url, fast_user.token) as fast:
            appended_at: dict[int, float] = {}
            flooding = asyncio.Event()
            flooding.set()
            started = time.monotonic()
            watcher = asyncio.create_task(watch_release())

            async def flood() -> None:
                for b in range(total // batch):
                    await events.append_batch(slow_user.id, [{"n": b * batch + i, "pad": pad} for i in range(batch)])
                flooding.clear()

            async def steady() -> None:
                n = 0
                while flooding.is_set():
                    seq = await events.append(fast_user.id, {"n": n})
                    appended_at[seq] = time.monotonic()
                    n += 1
                    await asyncio.sleep(0.05)

            async with asyncio.timeout(30):
                await asyncio.gather(flood(), steady())
            flooded_s = time.monotonic() - started
            await fast.wait_for_seqs(set(appended_at), timeout_s=5)
            latencies = [fast.first_seen[s] - t for s, t in appended_at.items()]

        # a slow consumer stays slow for a while (a phone in a tunnel): read its socket only after the fact,
        # longer after the flood than the server's 2 s close attempt, and see what it got and how it was closed
        await asyncio.sleep(STALL_AFTER_FLOOD_S)
        seqs, code, reason = await drain(stalled, timeout_s=20)
        read_back_s = time.monotonic() - started
        async with asyncio.timeout(5):
            await watcher
    finally:
        if watcher is not None:
            watcher.cancel()
        await stalled.close()
    closed_s = released_at[0] - started
    print(f"flood of {total} x {len(pad)} B took {flooded_s:.1f}s; the node let the stalled socket go {closed_s:.1f}s "
          f"after the flood began; it had got {len(seqs)} events, then close {code} {reason!r} (read back "
          f"{read_back_s:.1f}s after the flood began); fast socket: {len(latencies)} events, latency max "
          f"{max(latencies) * 1000:.0f} ms, mean {sum(latencies) / len(latencies) * 1000:.0f} ms")
    assert len(latencies) >= 10
    assert max(latencies) < 1.0, f"another user's events were delayed up to {max(latencies):.2f}s"
    assert seqs == list(range(1, len(seqs) + 1)), "what the stalled socket got was not in seq order"
    assert len(seqs) < total, "the stalled socket was never cut off"
    assert closed_s < 15

    # the slow client reconnects and syncs from what it has: nothing was lost
    async with open_device(nodes[A].ws_url, slow_user.token) as again:
        assert again.hello["data"]["last_seq"] == total
        reply = await again.sync(len(seqs))
        assert reply.last_seq == total
        assert again.seqs == list(range(len(seqs) + 1, total + 1))

    # checked last, so everything above is verified even when this fails
    assert code == 1013, f"the slow consumer was closed with {code} {reason!r}, not 1013 (no close frame reached it)"


async def test_sigterm_closes_every_socket_with_1012(nodes: Nodes, events: EventSource) -> None:
    """SIGTERM on node B closes its 20 sockets with 1012 and exits within 15 s, while node A keeps serving."""
    users = [await signup_user(nodes[A].base_url) for _ in range(5)]
    async with AsyncExitStack() as stack:
        on_b = []
        for i in range(20):
            device = await connect_device(nodes[B].ws_url, users[i % 5].token)
            stack.push_async_callback(device.close)
            on_b.append(device)
        on_a = await stack.enter_async_context(open_device(nodes[A].ws_url, users[0].token))

        took, exit_code = await nodes.terminate(B)
        codes = list(await asyncio.gather(*(d.wait_closed(5) for d in on_b)))
        print(f"node B exited {exit_code} {took:.2f}s after SIGTERM; close codes {sorted(set(codes))}")
        assert codes == [1012] * 20
        assert took < 15
        assert exit_code == 0, nodes.log_tail(B)

        seq = await events.append(users[0].id, {"after": "sigterm"})
        await on_a.wait_for_seqs([seq], timeout_s=5)
        async with httpx.AsyncClient(timeout=5) as http:
            assert (await http.get(f"{nodes[A].base_url}/v1/health")).status_code == 200

    await nodes.restart(B)
    async with open_device(nodes[B].ws_url, users[0].token) as back:
        assert back.hello["data"]["last_seq"] == seq
