"""``python -m bench realtime``: our realtime figures next to a bare relay's, as one JSON document.

On one machine, against one PostgreSQL and one Redis:

1. seed users straight into SQL (one bcrypt hash, one login each) and mint their access tokens;
2. start ``delete-api serve`` nodes A, B, C and ``python -m bench.floor`` relays A, B, C;
3. for each system, ours then the floor:

   - latency: clients on node B; this process, playing the node where a command ran, produces events at
     a fixed rate: ours by the commands' exact store-then-publish path (``EventLog.append`` in a
     ``unit_of_work``, published to Redis after commit), the floor by one PUBLISH. The send time travels
     in the event and the client takes the difference on arrival (one process, one clock);
   - throughput: clients split over A and B, producers as fast as they can for a few seconds, events/s
     delivered per node counted at the clients; for ours also a diagnostic run that publishes durable
     messages straight on Redis (nothing stored), which measures the nodes alone;
   - idle memory: RSS of the fresh node C before and after opening the idle sockets (after warm-up
     sockets, so pools and first-use allocations are not counted as per-socket memory).

Every process it starts is stopped on the way out, on failure and on Ctrl-C or SIGTERM too. The systems
compared are in ``bench.realtime_systems``; the client sockets and their readers in ``bench.realtime_clients``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import itertools
import json
import os
import secrets
import signal
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import redis.asyncio as aioredis
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from websockets.asyncio.client import ClientConnection

from bench import cpu_profile_report, stats
from bench.harness import (
    BenchError,
    CpuGroups,
    Processes,
    child_env,
    cpu_percent,
    cpu_snapshot,
    elapsed_s,
    free_port,
    infra_pids,
    machine_facts,
    other_load,
    raise_fd_limit,
    run_async,
    say,
    seed_users,
    serve_argv,
    stage,
)
from bench.realtime_clients import CONNECT_CONCURRENCY, NODES, Receivers, abort, open_many
from bench.realtime_systems import Floor, Ours, RelayOnly, System
from bench.redis_shards import redis_shards
from delete_api.database import make_engine, make_sessionmaker
from delete_api.settings import Settings
from domain.auth.tokens import TokenConfig
from domain.models import User, UserEventCounter
from domain.transaction import unit_of_work
from infra.redis_cluster import cluster_client, parse_cluster_url, prepare

WARMUP_SOCKETS = CONNECT_CONCURRENCY  # so the node's pools reach their size before RSS is read
MAX_IN_FLIGHT = 64  # latency phase: events being stored and published at once
SETTLE_S = 2.0


# -- phases ------------------------------------------------------------------------------------------

async def latency_phase(system: System, clients: int, rate: float, events: int) -> dict[str, Any]:
    """Events at a fixed rate (open loop) to ``clients`` sockets on node B."""
    receivers = Receivers()
    await receivers.open(system, [(1, u) for u in range(clients)])
    gate = asyncio.Semaphore(MAX_IN_FLIGHT)
    errors: list[BaseException] = []
    tasks: set[asyncio.Task[None]] = set()

    async def emit(i: int) -> None:
        try:
            await system.emit(i % clients, i)
        except Exception as exc:
            errors.append(exc)
        finally:
            gate.release()

    say(f"{system.name}: latency, {events} events at {rate:g}/s to {clients} sockets on node B")
    loop = asyncio.get_running_loop()
    try:
        for burst in (1, 2):  # opens the producer's pools and pays every first-use cost off the figures
            await asyncio.gather(*(system.emit(k % clients, -burst * MAX_IN_FLIGHT + k) for k in range(MAX_IN_FLIGHT)))
            await receivers.wait_total(burst * MAX_IN_FLIGHT)
        receivers.reset()
        receivers.recording = True
        if isinstance(system, Ours):
            system.committed.clear()
        start = loop.time()
        for i in range(events):
            delay = start + i / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            await gate.acquire()
            task = asyncio.create_task(emit(i))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        offered_s = loop.time() - start
        await asyncio.gather(*tasks)
        await receivers.wait_total(events)
    finally:
        await receivers.close()
    if errors:
        raise BenchError(f"{system.name}: {len(errors)} events failed to send, first: {errors[0]!r}")
    result: dict[str, Any] = {"latency_ms": stats.latency_summary(list(receivers.latency_ns.values())),
                              "sent": events, "received": len(receivers.latency_ns),
                              "offered_rate": stats.rate(events, offered_s)}
    if isinstance(system, Ours):  # where the time goes: storing (to commit) and relaying (commit to client)
        arrived, latency = receivers.arrived_ns, receivers.latency_ns
        commits = {i: c for i, c in system.committed.items() if i in arrived}
        result["store_ms"] = stats.latency_summary([c - (arrived[i] - latency[i]) for i, c in commits.items()])
        result["relay_ms"] = stats.latency_summary([arrived[i] - c for i, c in commits.items()])
    say(f"{system.name}: latency p50 {result['latency_ms']['p50']} ms, p99 {result['latency_ms']['p99']} ms, "
        f"{result['received']} of {events} received")
    return result


async def throughput_phase(system: System, clients: int, producers: int, seconds: float,
                           infra: CpuGroups) -> dict[str, Any]:
    """Producers as fast as they can; events/s delivered by each of nodes A and B, and who used the CPU."""
    receivers = Receivers()
    await receivers.open(system, [(u % 2, u) for u in range(clients)])
    producers = min(producers, clients)
    counter = itertools.count()
    sent = 0
    running = True

    async def produce(owned: range) -> None:
        # each user belongs to one producer: a user's events leave in order and never wait on each other
        nonlocal sent
        for user in itertools.cycle(owned):
            if not running:
                return
            await system.emit(user, next(counter))
            sent += 1

    say(f"{system.name}: throughput, {producers} producers for {seconds:g}s, {clients} sockets on nodes A+B")
    groups = {"node_a": (system.pids[0], False), "node_b": (system.pids[1], False),
              "bench": (os.getpid(), False), **infra}
    workers = [asyncio.create_task(produce(range(k, clients, producers))) for k in range(producers)]
    try:
        await asyncio.sleep(0.5)  # ramp up before the window opens
        counts0, sent0, cpu0, wall0 = list(receivers.counts), sent, cpu_snapshot(groups), time.monotonic()
        await asyncio.sleep(seconds)
        counts1, sent1, cpu1, wall1 = list(receivers.counts), sent, cpu_snapshot(groups), time.monotonic()
        running = False
        await asyncio.gather(*workers)
        await receivers.wait_total(sent)
    finally:
        running = False
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        await receivers.close()
    wall = wall1 - wall0
    per_node = {f"node_{n}": stats.rate(counts1[k] - counts0[k], wall) for k, n in enumerate(NODES[:2])}
    cpu = cpu_percent(cpu0, cpu1, wall)
    result = {"throughput_events_per_s": {**per_node, "total": round(sum(per_node.values()), 1)},
              "published_events_per_s": stats.rate(sent1 - sent0, wall), "cpu_percent": cpu,
              "node_cpu_us_per_event": {n: stats.cpu_per_event_us(cpu[n], per_node[n]) for n in per_node},
              "undelivered": max(0, sent - sum(receivers.counts))}
    say(f"{system.name}: delivered {result['throughput_events_per_s']} events/s, published "
        f"{result['published_events_per_s']}/s, undelivered {result['undelivered']}, CPU % {cpu}")
    return result


async def idle_phase(system: System, sockets: int, stop_node: Callable[[], None],
                     infra: CpuGroups, profile: NodeProfile | None = None) -> dict[str, Any]:
    """RSS growth of the fresh node C per idle socket, and what opening them cost: connects/s and the CPU of
    node C, this process (the clients) and PostgreSQL and Redis while they opened; the node is stopped afterwards.
    With ``profile`` (node C runs under ``bench.cpu_profile``), where node C's CPU went while they opened."""
    process = psutil.Process(system.pids[2])
    groups = {"node_c": (system.pids[2], False), "bench": (os.getpid(), False), **infra}
    warm: list[ClientConnection] = []
    idle: list[ClientConnection] = []
    try:
        warm = await open_many(system, [(2, sockets + k) for k in range(WARMUP_SOCKETS)])
        await asyncio.sleep(SETTLE_S)
        before = process.memory_info().rss
        say(f"{system.name}: opening {sockets} idle sockets on node C (RSS {before / 2**20:.1f} MB)")
        if profile is not None:
            profile.start()
        cpu0, opened = cpu_snapshot(groups), time.monotonic()
        idle = await open_many(system, [(2, u) for u in range(sockets)])
        cpu1, took = cpu_snapshot(groups), time.monotonic() - opened
        sampled = await profile.collect() if profile is not None else None
        await asyncio.sleep(SETTLE_S)
        after = process.memory_info().rss
    finally:
        abort(warm + idle)
        await asyncio.to_thread(stop_node)
    connects_per_s, cpu = stats.rate(len(idle), took), cpu_percent(cpu0, cpu1, took)
    result: dict[str, Any] = {} if sampled is None else {"node_c_cpu_profile": sampled}
    result |= {"idle_socket_kb": stats.per_socket_kb(before, after, len(idle)), "sockets": len(idle),
              "rss_mb": {"before": round(before / 2**20, 1), "after": round(after / 2**20, 1)},
              "connects_per_s": connects_per_s, "connect_cpu_percent": cpu,
              "node_cpu_us_per_connect": stats.cpu_per_event_us(cpu["node_c"], connects_per_s)}
    say(f"{system.name}: {result['idle_socket_kb']} KB per idle socket, RSS {result['rss_mb']} MB, "
        f"{result['connects_per_s']} connects/s, node C {result['node_cpu_us_per_connect']} us of CPU per connect, "
        f"CPU % while connecting {cpu}")
    return result


# -- set-up and the run ------------------------------------------------------------------------------

async def stored_seqs(sessions: async_sessionmaker[AsyncSession], users: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    async with sessions() as session:
        rows = await session.execute(select(UserEventCounter.user_id, UserEventCounter.last_seq)
                                     .where(UserEventCounter.user_id.in_(users)))
        return {user_id: int(seq) for user_id, seq in rows.all()}


def floor_redis_url(url: str) -> str:
    """The floor's Redis: on a cluster one seed node (classic pub/sub reaches every node of a cluster)."""
    cluster = parse_cluster_url(url)
    if cluster is None:
        return url
    host, port = cluster.nodes[0]
    return f"redis://{host}:{port}"


def redis_client(url: str) -> aioredis.Redis:
    cluster = parse_cluster_url(url)
    if cluster is not None:
        return cluster_client(cluster, max_connections=4 * MAX_IN_FLIGHT)
    return aioredis.Redis.from_url(url, max_connections=4 * MAX_IN_FLIGHT)


class NodeProfile:
    """Node C's sampler (``bench.cpu_profile``): started and stopped by signal around the connects, its stacks
    merged into ``out``."""

    def __init__(self, directory: Path, out: Path) -> None:
        self.directory, self.out = directory, out
        self.pid: int | None = None

    def start(self) -> None:
        assert self.pid is not None
        os.kill(self.pid, signal.SIGUSR2)

    async def collect(self) -> dict[str, Any]:
        assert self.pid is not None
        profile = await cpu_profile_report.stop_and_merge([self.pid], self.directory, self.out)
        for line in cpu_profile_report.lines(profile):
            say(f"node C cpu profile: {line}")
        return profile


async def start_servers(procs: Processes, resolved: Settings, work: Path,
                        profile: NodeProfile | None = None) -> dict[str, list[int]]:
    """Nodes and floor relays A, B, C, healthy; returns their ports. With ``profile``, node C runs under the
    sampler."""
    assert resolved.redis_url is not None
    ports = {kind: [free_port() for _ in NODES] for kind in ("node", "floor")}
    for k, n in enumerate(NODES):
        sampled = profile.directory if profile is not None and n == NODES[2] else None
        procs.spawn(f"node_{n}", serve_argv(ports["node"][k], sampled),
                    child_env(resolved, work, f"node_{n}"))
        procs.spawn(f"floor_{n}", [sys.executable, "-m", "bench.floor", "--port", str(ports["floor"][k]),
                                   "--redis", floor_redis_url(resolved.redis_url.reveal())],
                    child_env(resolved, work, f"floor_{n}"))
    say("starting nodes A, B, C and floor relays A, B, C")
    await asyncio.gather(*(procs.wait_healthy(f"{kind}_{n}", f"http://127.0.0.1:{ports[kind][k]}"
                                              + ("/v1/health" if kind == "node" else "/health"))
                           for kind in ports for k, n in enumerate(NODES)))
    return ports


async def bench(args: argparse.Namespace, settings: Settings, resolved: Settings, procs: Processes,
                work: Path) -> dict[str, Any]:
    """Every phase on both systems; returns the document (``settings``: as before the embedded start)."""
    assert resolved.database_url and resolved.jwt_secret and resolved.redis_url
    events = args.events or max(1, round(args.rate * args.duration))
    engine = make_engine(resolved.database_url.reveal(), pool_size=args.producers, max_overflow=8)
    sessions = make_sessionmaker(engine)
    redis = redis_client(resolved.redis_url.reveal())
    await prepare(redis)
    tag = secrets.token_hex(4)
    seeded = False
    results: dict[str, dict[str, Any]] = {}
    try:
        count = max(args.clients, args.idle_sockets + WARMUP_SOCKETS)
        say(f"seeding {count} users and their tokens")
        config = TokenConfig(secret=resolved.jwt_secret.reveal(), algorithm=resolved.jwt_algorithm,
                             access_ttl_s=6 * 3600)
        users = await seed_users(sessions, count, config, tag)
        seeded = True
        profile = None
        if args.cpu_profile:
            profile = NodeProfile(work / "cpu-profile", Path(args.cpu_profile))
            profile.directory.mkdir(parents=True, exist_ok=True)
        ports = await start_servers(procs, resolved, work, profile)
        if profile is not None:
            profile.pid = procs.procs[f"node_{NODES[2]}"].pid
        infra = infra_pids(settings, work)
        background, busiest = await other_load(procs, infra)
        say(f"other processes used {background}% of a core before the first phase"
            + (f" ({', '.join(busiest)}): that skews every figure" if background > 10 else ""))
        systems: list[System] = [
            Ours(ports["node"], [procs.procs[f"node_{n}"].pid for n in NODES], users, sessions, redis),
            Floor(ports["floor"], [procs.procs[f"floor_{n}"].pid for n in NODES], redis)]
        for system in systems:
            kind = "node" if isinstance(system, Ours) else "floor"
            result = await latency_phase(system, args.clients, args.rate, events)
            result |= await throughput_phase(system, args.clients, args.producers, args.throughput_duration, infra)
            if isinstance(system, Ours):
                seqs = await stored_seqs(sessions, [u for u, _ in users[:args.clients]])
                relay = await throughput_phase(RelayOnly(system, redis, seqs), args.clients, args.producers,
                                               args.throughput_duration, infra)
                result["relay_only"] = {k: relay[k] for k in ("throughput_events_per_s", "cpu_percent",
                                                              "node_cpu_us_per_event", "undelivered")}
            result |= await idle_phase(system, args.idle_sockets, functools.partial(procs.stop, f"{kind}_c"), infra,
                                       profile if isinstance(system, Ours) else None)
            results[system.name] = result
        results["delete"]["server_log"] = procs.warnings([f"node_{n}" for n in NODES])
    finally:
        if seeded and (args.data_dir or not settings.embedded_database):
            with contextlib.suppress(Exception):
                async with unit_of_work(sessions) as session:  # cascades to their events and logins
                    await session.execute(delete(User).where(User.email.like(f"bench-{tag}-%")))
        await redis.aclose()
        await engine.dispose()
    ours, floor = results["delete"], results["floor"]
    relative = stats.ratios(ours, floor)
    return {
        "machine": {**machine_facts(), "other_load_percent_of_core": background, "other_load_busiest": busiest},
        "params": {"clients": args.clients, "rate": args.rate, "latency_events": events,
                   "throughput_duration_s": args.throughput_duration, "producers": args.producers,
                   "idle_sockets": args.idle_sockets,
                   "database": "embedded" if settings.embedded_database else "DATABASE_URL",
                   "redis": ("cluster 3x2 (throwaway)" if args.redis_shards == 3
                             else "embedded" if settings.embedded_redis else "REDIS_URL")},
        "delete": ours, "floor": floor, "ratios": relative, "targets": stats.targets(ours, relative),
        "diagnostics": stats.diagnostic_ratios(ours, floor)}


def run(args: argparse.Namespace, settings: Settings) -> int:
    """``python -m bench realtime``: print the JSON document; 1 if the benchmark could not run."""
    import logging

    for noisy in ("alembic", "httpx"):  # the progress lines are ours; theirs would drown them
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        raise_fd_limit(args.idle_sockets + WARMUP_SOCKETS + args.clients + 512)
        with stage(settings, args.data_dir, "delete-bench-") as on, \
                redis_shards(args.redis_shards, on.resolved, on.work) as resolved:
            document = run_async(bench(args, on.settings, resolved, on.procs, on.work))
            say("stopping")
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    except asyncio.CancelledError:
        print("bench: stopped by SIGTERM", file=sys.stderr)
        return 143
    document["params"]["wall_s"] = elapsed_s()
    text = json.dumps(document, indent=2)
    print(text)
    if args.json_out:
        Path(args.json_out).write_text(text + "\n")
    return 0
