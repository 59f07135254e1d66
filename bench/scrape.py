"""``python -m bench scrape``: the cost of a Prometheus scrape with 10,000 sockets open on one node.

One ``delete-api serve`` node with ``METRICS_PORT``; ``--sockets`` users (seeded in SQL, one login each) each
open an authenticated socket. Then, for ``--scrapes`` rounds, ``GET /metrics`` is timed while a probe socket
sends ``ping`` every 100 ms; the probe's round trips during the scrapes are compared with the same probe while
nothing scrapes (a scrape must not stall the node's event loop: the listener formats on a thread of its own).
Prints one JSON document: scrape p50/p95/max in ms, the page size, the probe's p50/p99/max with and without
scrapes, and the verdict against the target (scrape p95 < 50 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection

from bench import stats
from bench.harness import (
    BenchError,
    child_env,
    free_port,
    open_socket,
    raise_fd_limit,
    run_async,
    say,
    seed_users,
    serve_argv,
    stage,
)
from delete_api.database import make_engine, make_sessionmaker
from delete_api.settings import Settings
from domain.auth.tokens import TokenConfig

TARGET_SCRAPE_P95_MS = 50.0
CONNECT_CONCURRENCY = 100
PROBE_EVERY_S = 0.1  # within the per-socket command rate limit


async def _connect_all(url: str, tokens: list[str]) -> list[ClientConnection]:
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(token: str) -> ClientConnection:
        async with gate:
            return await open_socket(url, {"Authorization": f"Bearer {token}"})

    sockets: list[ClientConnection] = []
    for start in range(0, len(tokens), 1000):
        sockets += await asyncio.gather(*(one(t) for t in tokens[start:start + 1000]))
        say(f"{len(sockets)} sockets open")
    return sockets


async def _probe(ws: ClientConnection, until: asyncio.Event) -> list[int]:
    """Round trips of ``ping`` commands, one every 100 ms, until ``until`` is set (nanoseconds)."""
    samples, ref = [], 0
    while not until.is_set():
        ref += 1
        started = time.perf_counter_ns()
        await ws.send(json.dumps({"type": "ping", "ref": ref}))
        while '"reply"' not in str(await ws.recv()):
            pass
        samples.append(time.perf_counter_ns() - started)
        await asyncio.sleep(PROBE_EVERY_S)
    return samples


async def _scrapes(url: str, count: int) -> tuple[list[int], int]:
    timings, size = [], 0
    async with httpx.AsyncClient(timeout=10) as http:
        for _ in range(count):
            started = time.perf_counter_ns()
            resp = await http.get(url)
            timings.append(time.perf_counter_ns() - started)
            size = len(resp.content)
            await asyncio.sleep(0.1)
    return timings, size


async def _probe_while(ws: ClientConnection, work: Any) -> tuple[list[int], Any]:
    done = asyncio.Event()
    probe = asyncio.create_task(_probe(ws, done))
    try:
        result = await work
    finally:
        done.set()
    return await probe, result


async def _measure(args: argparse.Namespace, resolved: Settings, ws_url: str, metrics_url: str) -> dict[str, Any]:
    assert resolved.database_url and resolved.jwt_secret
    engine = make_engine(resolved.database_url.reveal(), pool_size=2)
    try:
        config = TokenConfig(secret=resolved.jwt_secret.reveal(), algorithm=resolved.jwt_algorithm)
        users = await seed_users(make_sessionmaker(engine), args.sockets + 1, config, "scrape")
    finally:
        await engine.dispose()
    sockets = await _connect_all(ws_url, [token for _, token in users[:-1]])
    probe_ws = await open_socket(ws_url, {"Authorization": f"Bearer {users[-1][1]}"})
    try:
        idle, _ = await _probe_while(probe_ws, asyncio.sleep(args.scrapes * 0.11))
        busy, (timings, size) = await _probe_while(probe_ws, _scrapes(metrics_url, args.scrapes))
    finally:
        for ws in [*sockets, probe_ws]:
            ws.transport.abort()
    ms = sorted(t / 1e6 for t in timings)
    return {"sockets": len(sockets) + 1, "scrapes": len(ms), "page_bytes": size,
            "scrape_p50_ms": round(stats.percentile(ms, 50), 2), "scrape_p95_ms": round(stats.percentile(ms, 95), 2),
            "scrape_max_ms": round(ms[-1], 2), "probe_idle": stats.latency_summary(idle),
            "probe_during_scrapes": stats.latency_summary(busy)}


def run(args: argparse.Namespace, settings: Settings) -> int:
    """``python -m bench scrape``: print the JSON document; 1 if the benchmark could not run."""
    try:
        raise_fd_limit(args.sockets + 1000)  # each side (this process, the node) holds one end of every socket
        with stage(settings, None, "delete-bench-scrape-") as st:
            port, metrics_port = free_port(), free_port()
            env = {**child_env(st.resolved, st.work, "node"), "METRICS_PORT": str(metrics_port)}
            st.procs.spawn("node", serve_argv(port), env)
            run_async(st.procs.wait_healthy("node", f"http://127.0.0.1:{port}/v1/health"))
            figures = run_async(_measure(args, st.resolved, f"ws://127.0.0.1:{port}/v1/ws",
                                         f"http://127.0.0.1:{metrics_port}/metrics"))
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    met = figures["scrape_p95_ms"] < TARGET_SCRAPE_P95_MS
    document = {"benchmark": "scrape", **figures, "target_scrape_p95_ms": TARGET_SCRAPE_P95_MS,
                "verdict": "met" if met else "missed"}
    output = json.dumps(document, indent=2)
    print(output)
    if args.json_out:
        Path(args.json_out).write_text(output + "\n")
    return 0
