"""``python -m bench overhead``: what recording metrics costs a ``messages.send``, with and without, in one run.

Two ``delete-api serve`` nodes on the same PostgreSQL and Redis, started together: one records metrics (the
default), the other runs with ``METRICS_RECORDING=off``. On each node ``--pairs`` matched pairs hold a socket each;
every sender sends ``messages.send`` at ``--rate`` per second (under the per-socket limit) for ``--duration``
seconds while its partner reads every event, both nodes at the same time, so they share the machine's load.
The client's round trip per send is the figure. Prints one JSON document: p50/p90/p99 per node, the overhead of
recording on the p50, and the verdict against the target (at most 5 %).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import ClientConnection

from bench import stats
from bench.harness import BenchError, child_env, free_port, open_socket, run_async, say, seed_users, serve_argv, stage
from delete_api.database import make_engine, make_sessionmaker
from delete_api.settings import Settings
from domain.auth.tokens import TokenConfig
from tests.support.factory import Person, make_match

TARGET_OVERHEAD_PERCENT = 5.0
NODES = {"recording": {}, "not_recording": {"METRICS_RECORDING": "off"}}


async def _drain(ws: ClientConnection) -> None:
    """Read every event a receiver gets (its node must never see it as a slow reader)."""
    async for _ in ws:
        pass


async def _sender(ws: ClientConnection, match_id: uuid.UUID, args: argparse.Namespace) -> list[int]:
    samples: list[int] = []
    deadline = time.monotonic() + args.duration
    ref = 0
    while time.monotonic() < deadline:
        ref += 1
        started = time.perf_counter_ns()
        await ws.send(json.dumps({"type": "messages.send", "ref": ref, "data": {
            "match_id": str(match_id), "body": f"message {ref}", "client_msg_id": uuid.uuid4().hex}}))
        while True:
            frame = json.loads(await ws.recv())
            if frame.get("type") == "reply" and frame.get("ref") == ref:
                break
        if not frame.get("ok"):
            raise BenchError(f"messages.send failed: {frame.get('error')}")
        samples.append(time.perf_counter_ns() - started)
        await asyncio.sleep(max(0.0, 1 / args.rate - (time.perf_counter_ns() - started) / 1e9))
    return samples


async def _node_pairs(engine: AsyncEngine, config: TokenConfig, pairs: int) -> list[tuple[str, str, uuid.UUID]]:
    users = await seed_users(make_sessionmaker(engine), 2 * pairs, config, f"overhead-{uuid.uuid4().hex[:6]}")
    out = []
    for k in range(pairs):
        (a_id, a_token), (b_id, b_token) = users[2 * k], users[2 * k + 1]
        match_id = await make_match(engine, Person(a_id, "", a_token), Person(b_id, "", b_token))
        out.append((a_token, b_token, match_id))
    return out


async def _measure(args: argparse.Namespace, resolved: Settings, urls: dict[str, str]) -> dict[str, Any]:
    assert resolved.database_url and resolved.jwt_secret
    engine = make_engine(resolved.database_url.reveal(), pool_size=2)
    try:
        config = TokenConfig(secret=resolved.jwt_secret.reveal(), algorithm=resolved.jwt_algorithm)
        plans = {name: await _node_pairs(engine, config, args.pairs) for name in urls}
    finally:
        await engine.dispose()
    sockets: list[ClientConnection] = []
    senders: dict[str, list[asyncio.Task[list[int]]]] = {}
    drains: list[asyncio.Task[None]] = []
    try:
        for name, plan in plans.items():
            senders[name] = []
            for a_token, b_token, match_id in plan:
                a = await open_socket(urls[name], {"Authorization": f"Bearer {a_token}"})
                b = await open_socket(urls[name], {"Authorization": f"Bearer {b_token}"})
                sockets += [a, b]
                drains.append(asyncio.create_task(_drain(b)))
                senders[name].append(asyncio.create_task(_sender(a, match_id, args)))
        say(f"both nodes: {args.pairs} senders each at {args.rate:g}/s for {args.duration:g}s")
        samples = {name: [s for task in tasks for s in await task] for name, tasks in senders.items()}
    finally:
        for task in drains:
            task.cancel()
        for ws in sockets:
            ws.transport.abort()
    return {name: stats.latency_summary(values) for name, values in samples.items()}


def run(args: argparse.Namespace, settings: Settings) -> int:
    """``python -m bench overhead``: print the JSON document; 1 if the benchmark could not run."""
    try:
        with stage(settings, None, "delete-bench-overhead-") as st:
            urls = {}
            for name, extra in NODES.items():
                port = free_port()
                st.procs.spawn(name, serve_argv(port), {**child_env(st.resolved, st.work, name), **extra})
                run_async(st.procs.wait_healthy(name, f"http://127.0.0.1:{port}/v1/health"))
                urls[name] = f"ws://127.0.0.1:{port}/v1/ws"
            figures = run_async(_measure(args, st.resolved, urls))
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    on, off = figures["recording"]["p50"], figures["not_recording"]["p50"]
    overhead = round((on - off) / off * 100, 1) if on is not None and off else None
    document = {"benchmark": "overhead", "command": "messages.send", "pairs_per_node": args.pairs,
                "rate_per_sender": args.rate, "duration_s": args.duration, "round_trip_ms": figures,
                "overhead_p50_percent": overhead, "target_overhead_percent": TARGET_OVERHEAD_PERCENT,
                "verdict": "met" if overhead is not None and overhead <= TARGET_OVERHEAD_PERCENT else "missed"}
    output = json.dumps(document, indent=2)
    print(output)
    if args.json_out:
        Path(args.json_out).write_text(output + "\n")
    return 0
