"""Prometheus metrics on a listener of their own: a two-node workload moves each series as it implies.

Also: several workers (``--workers 2``) are summed by the multiprocess mode; the app port does not serve
``/metrics``; no label carries a user id, an email or a raw path.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path

import httpx
import pytest
from delete_client import ClientError, Closed, DeleteClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.factory import Person, make_match
from tests.support.nodes import Node, Nodes, running_nodes
from tests.support.users import new_email, signup

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(node: Node) -> tuple[str, Samples]:
    """The node's metrics page and its samples by (name, labels)."""
    async with httpx.AsyncClient(timeout=10) as http:
        resp = await http.get(node.metrics_url)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(resp.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return resp.text, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sample's value; 0 when the series does not exist yet."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum over every series of ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


async def _people(nodes: Nodes, engine: AsyncEngine) -> tuple[Person, Person, uuid.UUID]:
    people = []
    for node in (nodes[0], nodes[1]):
        async with httpx.AsyncClient(base_url=node.base_url, timeout=20) as http:
            email = new_email()
            body = await signup(http, email=email)
            people.append(Person(uuid.UUID(body["user"]["id"]), email, body["access_token"]))
    return people[0], people[1], await make_match(engine, people[0], people[1])


async def test_a_two_node_workload_moves_every_series_as_it_implies(
        database_url: str, redis_url: str, engine: AsyncEngine, tmp_path: Path) -> None:
    """Connects by outcome, open sockets and users, commands by type and outcome with latencies, REST by route
    template, durable deliveries with their lag across nodes, sync replays, build info."""
    async with running_nodes(2, database_url=database_url, redis_url=redis_url, root=tmp_path,
                             metrics=True) as nodes:
        _, before_a = await scrape(nodes[0])
        _, before_b = await scrape(nodes[1])
        alex, blake, match_id = await _people(nodes, engine)
        with pytest.raises(Closed):
            async with DeleteClient(nodes[0].ws_url, "not-a-token"):
                pass
        async with DeleteClient(nodes[0].ws_url, alex.token) as a, DeleteClient(nodes[1].ws_url, blake.token) as b:
            for n in range(3):
                await a.call("messages.send", {"match_id": str(match_id), "body": f"m{n}", "client_msg_id": f"c{n}"})
            for _ in range(3):
                await b.next_event("message.created")
            with pytest.raises(ClientError):
                await a.call("messages.history", {"match_id": str(uuid.uuid4())})
            await b.call("sync", {"after": 0})
            page_a, during_a = await scrape(nodes[0])
            page_b, during_b = await scrape(nodes[1])
        await asyncio.sleep(0.3)
        _, after_a = await scrape(nodes[0])

    def moved(now: Samples, then: Samples, name: str, **labels: str) -> float:
        return value(now, name, **labels) - value(then, name, **labels)

    assert moved(during_a, before_a, "delete_socket_connects_total", outcome="4401") == 1
    assert moved(during_a, before_a, "delete_socket_connects_total", outcome="ok") == 1
    assert value(during_a, "delete_sockets_open") == 1 and value(during_b, "delete_sockets_open") == 1
    assert value(during_a, "delete_users_online") == 1
    assert value(after_a, "delete_sockets_open") == 0
    assert moved(after_a, during_a, "delete_socket_closes_total", code="client") == 1
    assert moved(during_a, before_a, "delete_commands_total", command="messages.send", outcome="ok") == 3
    assert moved(during_a, before_a, "delete_commands_total", command="messages.history", outcome="not_found") == 1
    assert moved(during_a, before_a, "delete_command_duration_seconds_count", command="messages.send") == 3
    assert moved(during_a, before_a, "delete_http_requests_total", route="/v1/auth/signup", method="POST",
                 status="201") == 1
    assert moved(during_a, before_a, "delete_events_published_total", kind="durable") >= 6  # 3 messages x 2
    assert moved(during_b, before_b, "delete_events_delivered_total", kind="durable") >= 3
    assert moved(during_b, before_b, "delete_event_delivery_lag_seconds_count") >= 3
    assert moved(during_b, before_b, "delete_replays_total", reason="sync") == 1
    assert moved(during_b, before_b, "delete_replayed_events_total", reason="sync") >= 3
    assert total(during_a, "delete_build_info") == 1
    assert value(during_a, "delete_db_pool_size", pool="primary") >= 1
    for page in (page_a, page_b):
        assert not UUID_RE.search(page) and "@" not in page and "/v1/profile/photos/" not in page.replace(
            "/v1/profile/photos/{photo_id}", "")


async def test_the_app_port_has_no_metrics_and_the_metrics_port_no_app(
        database_url: str, redis_url: str, tmp_path: Path) -> None:
    """GET /metrics on the app is a 404; the metrics listener answers metrics, never the app's routes."""
    async with running_nodes(1, database_url=database_url, redis_url=redis_url, root=tmp_path,
                             metrics=True) as nodes:
        async with httpx.AsyncClient(timeout=10) as http:
            assert (await http.get(nodes[0].base_url + "/metrics")).status_code == 404
            other = await http.get(f"http://127.0.0.1:{nodes[0].metrics_port}/v1/health")
        assert '"status"' not in other.text and "delete_sockets_open" in (await scrape(nodes[0]))[0]


async def test_two_workers_are_summed_by_the_multiprocess_mode(
        database_url: str, redis_url: str, tmp_path: Path) -> None:
    """With --workers 2 the listener sums both workers: every socket and every request is counted once."""
    async with running_nodes(1, database_url=database_url, redis_url=redis_url, root=tmp_path,
                             metrics=True, workers=2) as nodes:
        _, before = await scrape(nodes[0])
        async with httpx.AsyncClient(base_url=nodes[0].base_url, timeout=20) as http:
            tokens = [(await signup(http))["access_token"] for _ in range(3)]
            for _ in range(7):
                assert (await http.get("/v1/openapi.json")).status_code == 200
        clients = [DeleteClient(nodes[0].ws_url, token) for token in tokens for _ in range(2)]
        for client in clients:
            await client.connect()
        try:
            _, during = await scrape(nodes[0])
        finally:
            for client in clients:
                await client.close()
    requests = total(during, "delete_http_requests_total", route="/v1/openapi.json")
    assert requests - total(before, "delete_http_requests_total", route="/v1/openapi.json") == 7
    assert total(during, "delete_sockets_open") == 6
    assert total(during, "delete_socket_connects_total", outcome="ok") - total(
        before, "delete_socket_connects_total", outcome="ok") == 6
