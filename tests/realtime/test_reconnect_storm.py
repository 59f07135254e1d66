"""A node restarts (SIGTERM, 1012): its clients resume on the other node, lose nothing, and cost few queries.

Real server processes on one database and one Redis. The resuming node's own ``delete_db_round_trips_total``
counts what it sent PostgreSQL (statements, BEGIN, COMMIT, ROLLBACK) while the clients resumed together.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.nodes import Device, EventSource, Nodes, connect_device, event_source, running_nodes, signup_user

A, B = 0, 1
CLIENTS = 40


@pytest.fixture
async def pair(database_url: str, redis_url: str, tmp_path: Path) -> AsyncIterator[Nodes]:
    """Nodes A and B with their metrics listeners (output in <tmp>/node-<i>.log)."""
    async with running_nodes(2, database_url=database_url, redis_url=redis_url, root=tmp_path,
                             metrics=True) as running:
        yield running


@pytest.fixture
async def events(engine: AsyncEngine, redis_url: str) -> AsyncIterator[EventSource]:
    async with event_source(engine, redis_url) as source:
        yield source


async def round_trips(metrics_url: str) -> dict[str, float]:
    """The node's ``delete_db_round_trips_total`` by kind."""
    async with httpx.AsyncClient(timeout=10) as http:
        body = (await http.get(metrics_url)).text
    return {sample.labels["kind"]: sample.value for family in text_string_to_metric_families(body)
            for sample in family.samples if sample.name == "delete_db_round_trips_total"}


async def test_clients_of_a_restarting_node_resume_on_the_other_losing_nothing_in_few_round_trips(
        pair: Nodes, events: EventSource) -> None:
    users = await asyncio.gather(*(signup_user(pair[A].base_url, f"Storm{k}") for k in range(CLIENTS)))
    on_a = await asyncio.gather(*(connect_device(pair[A].ws_url, u.token) for u in users))
    sent: dict[int, list[int]] = {k: [] for k in range(CLIENTS)}
    for k, user in enumerate(users):  # live before the restart
        sent[k].append(await events.append(user.id, {"n": 0}))
    for k, device in enumerate(on_a):
        await device.wait_for_seqs(sent[k])

    await pair.terminate(A)
    assert [await d.wait_closed() for d in on_a] == [1012] * CLIENTS
    for k, user in enumerate(users):  # missed while they were away: 1 to 3 events each
        for n in range(1 + k % 3):
            sent[k].append(await events.append(user.id, {"n": n + 1}))

    before = await round_trips(pair[B].metrics_url)
    # every client resumes at once from the last seq it holds (CONTRACT: ?last_seq=N), as apps do after a 1012
    resumed: list[Device] = list(await asyncio.gather(*(
        connect_device(f"{pair[B].ws_url}?last_seq={d.seqs[-1]}", u.token) for d, u in zip(on_a, users, strict=True))))
    try:
        for k, device in enumerate(resumed):
            await device.wait_for_seqs([seq for seq in sent[k] if seq > on_a[k].seqs[-1]])
        after = await round_trips(pair[B].metrics_url)
        for k, user in enumerate(users):  # and live again afterwards
            sent[k].append(await events.append(user.id, {"n": 9}))
        for k, device in enumerate(resumed):
            await device.wait_for_seqs(sent[k][-1:])
            assert on_a[k].seqs + device.seqs == sent[k], "an event was lost, doubled or reordered"
    finally:
        await asyncio.gather(*(d.close() for d in resumed))
    spent = sum(after.values()) - sum(before.values())
    # one at a time, each resume would cost 3 statements (token check, position and missed events, presence
    # partners), each in its own BEGIN ... ROLLBACK: 9 round trips; together they share batched queries
    assert spent <= 2 * CLIENTS, f"{spent} PostgreSQL round trips for {CLIENTS} resumes: {after} - {before}"
    statements = after.get("statement", 0) - before.get("statement", 0)
    assert statements <= CLIENTS, f"{statements} statements for {CLIENTS} resumes"
