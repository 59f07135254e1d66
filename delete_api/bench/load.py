"""``delete-api bench load``: the product as its users load it, with every durable event accounted for.

Scenarios, each selected by its flags and run in this order, each on nodes of its own (started here, or the
``--url`` nodes):

- **mixed** (``--users N --active M``, ``--duration S``): two nodes; seeds ``--profiles`` realistic profiles
  (``delete-api seed``'s generator), a login each for N of them, a moderator, and relations to act on
  (matches, likes waiting for an answer); connects N users (a tenth of the active ones with a second device
  on the other node) and runs the active users' loop of ``load_users`` for S seconds plus one moderator
  socket. Measures command-to-event latency per event type on every receiving device, delivered events/s,
  RSS and open sockets per node every second, CPU per process; then verifies that every durable event
  committed for a connected user reached each of its devices, live or through ``sync``. With S >= 600 it is
  also the soak: memory growth per node after warm-up and the p99 drift between the first and last minute.
- **idle** (``--idle-sockets N``): one fresh node, N idle authenticated sockets; RSS per socket and ping
  p99 while they are held (``--hold`` seconds, so every socket gets a server heartbeat).
- **logins** (``--logins K``): one fresh node at ``--bcrypt-cost`` (12); K concurrent REST logins,
  ``--login-rounds`` times, while sockets ping: ping p99 before and during.

Writes ``summary.json``, ``report.md`` and the PNG plots into ``--out`` (see ``delete_api/bench/report.py``),
prints progress on standard error, and stops every process it started, also on Ctrl-C and SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import os
import random
import resource
import secrets
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil
from sqlalchemy import bindparam, delete, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from delete_api.bench import report
from delete_api.bench.harness import (
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
    mint_tokens,
    other_load,
    raise_fd_limit,
    run_async,
    say,
    seed_users,
    serve_argv,
)
from delete_api.bench.load_users import (
    Device,
    Moderator,
    Recorder,
    SimUser,
    World,
    plan_social,
)
from delete_api.database import make_engine, make_sessionmaker
from delete_api.settings import Settings
from domain.auth.tokens import TokenConfig
from domain.models import User
from domain.transaction import unit_of_work
from realtime.client import DeleteClient

CONNECT_CONCURRENCY = 100
PINGERS = 10
PING_INTERVAL_S = 0.1
WARMUP_SOCKETS = 100
SETTLE_S = 2.0
BASELINE_PING_S = 5.0
DRAIN_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 25.0
LOGIN_PASSWORD = "load-bench-password"  # a throwaway account of the benchmark


@dataclass
class Node:
    """A server under test: its HTTP base URL and, when on this machine, its process id."""

    name: str
    base_url: str
    pid: int | None

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http", "ws", 1) + "/v1/ws"


@dataclass
class Ctx:
    """What every scenario uses: the resolved settings, the child processes and the bench's own pools."""

    args: argparse.Namespace
    settings: Settings  # as before the embedded start (what was embedded)
    resolved: Settings
    procs: Processes
    work: Path
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    tokens: TokenConfig
    infra: CpuGroups
    tag: str = field(default_factory=lambda: secrets.token_hex(4))
    seeded: list[uuid.UUID] = field(default_factory=list)  # users to delete afterwards on a kept database

    async def nodes(self, names: list[str], *, bcrypt_cost: int = 4) -> list[Node]:
        """Start ``delete-api serve`` nodes (or take the ``--url`` ones) and wait until they are healthy."""
        if self.args.url:
            urls = self.args.url if len(names) > 1 else self.args.url[:1]
            return [Node(f"node_{k + 1}", u.rstrip("/"), _pid_listening(u)) for k, u in enumerate(urls)]
        ports = [free_port() for _ in names]
        for name, port in zip(names, ports, strict=True):
            self.procs.spawn(name, serve_argv(port), child_env(self.resolved, self.work, name, bcrypt_cost=bcrypt_cost))
        await asyncio.gather(*(self.procs.wait_healthy(n, f"http://127.0.0.1:{p}/v1/health")
                               for n, p in zip(names, ports, strict=True)))
        return [Node(n, f"http://127.0.0.1:{p}", self.procs.procs[n].pid) for n, p in zip(names, ports, strict=True)]

    def stop(self, nodes: list[Node]) -> None:
        if not self.args.url:
            self.procs.stop(*(n.name for n in nodes))

    def cpu_groups(self, nodes: list[Node]) -> CpuGroups:
        groups: CpuGroups = {n.name: (n.pid, False) for n in nodes if n.pid is not None}
        return {**groups, "bench": (os.getpid(), False), **self.infra}


def _pid_listening(url: str) -> int | None:
    """The process listening on the URL's port on this machine, if any (for its RSS)."""
    port = httpx.URL(url).port
    with contextlib.suppress(psutil.Error, OSError):
        for conn in psutil.net_connections("tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
                return int(conn.pid) if conn.pid is not None else None
    return None


class Sampler:
    """Once a second: RSS per node and open sockets per node (as the clients see them)."""

    def __init__(self, nodes: list[Node], rec: Recorder, sockets: Callable[[], dict[str, int]]) -> None:
        self.procs = {n.name: psutil.Process(n.pid) for n in nodes if n.pid is not None}
        self.rec = rec
        self.sockets = sockets
        self.rows: list[dict[str, Any]] = []
        self.task: asyncio.Task[None] | None = None

    def sample(self) -> dict[str, Any]:
        rss: dict[str, float] = {}
        for name, proc in self.procs.items():
            with contextlib.suppress(psutil.Error):
                rss[name] = round(proc.memory_info().rss / 2**20, 2)
        row = {"t": round(self.rec.at_s(time.monotonic_ns()), 2), "rss_mb": rss, "sockets": self.sockets()}
        self.rows.append(row)
        return row

    async def _run(self) -> None:
        tick = time.monotonic()
        while True:
            self.sample()
            tick += 1.0
            await asyncio.sleep(max(0.0, tick - time.monotonic()))

    def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    async def stop(self) -> list[dict[str, Any]]:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        return self.rows

    def rss(self, name: str) -> float | None:
        with contextlib.suppress(psutil.Error, KeyError):
            return float(self.procs[name].memory_info().rss)
        return None


async def _settle(node: Node, timeout_s: float = 20.0) -> None:
    """Wait until the node is nearly idle (it still handles the closes of sockets just dropped)."""
    if node.pid is None:
        return
    with contextlib.suppress(psutil.Error):
        proc = psutil.Process(node.pid)
        proc.cpu_percent(None)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            if proc.cpu_percent(None) < 5:
                return


async def _gather_limited(coros: list[Any], limit: int = CONNECT_CONCURRENCY,
                          progress: Callable[[int], None] | None = None) -> list[Any]:
    gate = asyncio.Semaphore(limit)
    done = 0

    async def one(coro: Any) -> Any:
        nonlocal done
        async with gate:
            try:
                return await coro
            finally:
                done += 1
                if progress is not None:
                    progress(done)

    return await asyncio.gather(*(one(c) for c in coros), return_exceptions=True)


def _every(step: int, total: int, what: str) -> Callable[[int], None]:
    def progress(done: int) -> None:
        if done % step == 0 or done == total:
            say(f"{what}: {done}/{total}")

    return progress


# -- seeding ---------------------------------------------------------------------------------------------

async def seed_profiles(ctx: Ctx, count: int) -> list[Any]:
    """``count`` varied demo profiles by ``delete-api seed``'s generator (rows only, no photo files)."""
    import asyncpg

    from delete_api import seed as demo
    from domain.auth.passwords import PasswordHasher

    assert ctx.resolved.database_url is not None
    conn = await asyncpg.connect(ctx.resolved.database_url.reveal())
    try:
        prompt_ids = [r["id"] for r in await conn.fetch("SELECT id FROM prompts ORDER BY position")]
        start = int(await conn.fetchval("SELECT count(*) FROM users WHERE email LIKE $1", f"%@{demo.EMAIL_DOMAIN}"))
        rng = random.Random(f"load:{ctx.args.seed}:{start}")
        password_hash = await PasswordHasher(4).hash(secrets.token_urlsafe(12))
        pool = await demo.make_pool(None, rng)
        now = datetime.now(UTC)
        people: list[Any] = []
        while len(people) < count:
            batch = demo.generate(rng, min(demo.BATCH_SIZE, count - len(people)), start + len(people), prompt_ids, now)
            await demo._write_batch(conn, batch, password_hash, pool, None, rng, now)
            people.extend(batch)
        await conn.execute("ANALYZE users, photos, prompt_answers, quiz_responses, user_traits, user_badges")
    finally:
        await conn.close()
    ctx.seeded.extend(p.id for p in people)
    return people


async def seed_social(ctx: Ctx, matches: list[tuple[uuid.UUID, uuid.UUID]],
                      likes: list[tuple[uuid.UUID, uuid.UUID]]) -> None:
    """The relations the users start with: open matches (a day old) and likes waiting (two hours old)."""
    async with unit_of_work(ctx.sessions) as session:
        if matches:
            await session.execute(text(
                "INSERT INTO matches (id, user_a, user_b, state, matched_at, state_changed_at) "
                "VALUES (:id, :a, :b, 'active', now() - interval '1 day', now() - interval '1 day')"),
                [{"id": uuid.uuid4(), "a": a, "b": b} for a, b in matches])
        if likes:
            await session.execute(text(
                "INSERT INTO likes (id, liker_id, likee_id, created_at) "
                "VALUES (:id, :liker, :likee, now() - interval '2 hours')"),
                [{"id": uuid.uuid4(), "liker": liker, "likee": likee} for liker, likee in likes])


# -- verification -----------------------------------------------------------------------------------------

_EVENTS = text("SELECT user_id::text, seq, type, payload FROM user_events WHERE user_id = ANY(:ids)").bindparams(
    bindparam("ids", type_=ARRAY(UUID(as_uuid=True))))
_HEADS = text("SELECT user_id::text, last_seq FROM user_event_counters WHERE user_id = ANY(:ids)").bindparams(
    bindparam("ids", type_=ARRAY(UUID(as_uuid=True))))


def _event_id(kind: str, payload: dict[str, Any]) -> str | None:
    """The id a person would look for: the message, match, like or report the event is about."""
    for path in (("message", "id"), ("match", "id"), ("like_id",), ("match_id",)):
        value: Any = payload
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, str):
            return value
    return None


async def wait_caught_up(ctx: Ctx, devices: list[Device], timeout_s: float = DRAIN_TIMEOUT_S) -> bool:
    """Wait until every device has the newest seq stored for its user (the last events still in flight)."""
    ids = sorted({uuid.UUID(d.user.id) for d in devices})
    deadline = time.monotonic() + timeout_s
    while True:
        async with ctx.sessions() as session:
            heads = {u: int(s) for u, s in (await session.execute(_HEADS, {"ids": ids})).all()}
        behind = [d for d in devices if heads.get(d.user.id, 0) > d.last_seq]
        if not behind:
            return True
        if time.monotonic() > deadline:
            say(f"{len(behind)} devices still behind after {timeout_s:g}s")
            return False
        await asyncio.sleep(0.5)


async def verify(ctx: Ctx, devices: list[Device], caught_up: bool) -> dict[str, Any]:
    """Every durable event committed for a device's user after it first connected, received exactly once."""
    ids = sorted({uuid.UUID(d.user.id) for d in devices})
    async with ctx.sessions() as session:
        rows = (await session.execute(_EVENTS, {"ids": ids})).all()
    stored: dict[str, dict[int, tuple[str, dict[str, Any]]]] = {}
    for user_id, seq, kind, payload in rows:
        stored.setdefault(user_id, {})[int(seq)] = (kind, payload)
    committed = expected = live = replayed = lost = unexpected = duplicates = 0
    lost_ids: list[dict[str, Any]] = []
    unexpected_ids: list[dict[str, Any]] = []
    counted_users: set[str] = set()
    for k, device in enumerate(devices):
        if device.start_seq is None:
            continue
        events = stored.get(device.user.id, {})
        wanted = {s for s in events if s > device.start_seq}
        if device.user.id not in counted_users:
            counted_users.add(device.user.id)
            committed += len(wanted)
        got = set(device.seqs)
        expected += len(wanted)
        duplicates += len(device.seqs) - len(got)
        live += device.live
        replayed += device.replayed
        for seq in sorted(wanted - got):
            lost += 1
            if len(lost_ids) < 200:
                kind, payload = events[seq]
                lost_ids.append({"user_id": device.user.id, "device": k, "seq": seq, "type": kind,
                                 "id": _event_id(kind, payload)})
        for seq in sorted(got - set(events)):
            unexpected += 1
            if len(unexpected_ids) < 200:
                unexpected_ids.append({"user_id": device.user.id, "device": k, "seq": seq})
    return {"committed_events": committed, "devices": sum(1 for d in devices if d.start_seq is not None),
            "expected_deliveries": expected, "delivered_live": live, "recovered_by_sync": replayed, "lost": lost,
            "lost_ids": lost_ids, "unexpected": unexpected, "unexpected_ids": unexpected_ids,
            "duplicates": duplicates, "caught_up": caught_up}


# -- mixed load (and soak) ---------------------------------------------------------------------------------

def _p99(rec: Recorder, kinds: tuple[str, ...], since_s: float) -> str:
    values = report.window({k: rec.samples[k] for k in kinds if k in rec.samples}, kinds, since_s, 1e9)
    p99 = report.summary_ms(values)["p99"]
    return "-" if p99 is None else f"{p99:.1f}"


async def mixed_scenario(ctx: Ctx) -> tuple[dict[str, Any], report.Samples]:
    args = ctx.args
    users, active, duration = args.users, min(args.active, args.users), args.duration
    # plenty of people to swipe through, as in a city: with 1.3x the users a soak runs out of cards in minutes
    profiles = max(args.profiles or max(5 * users, 2000), math.ceil(users * 1.3) + 50)
    say(f"mixed: seeding {profiles} profiles for {users} users ({active} active)")
    people = await seed_profiles(ctx, profiles)
    rng = random.Random(args.seed)
    complete = [p.id for p in people if p.complete]
    if len(complete) < users:
        raise BenchError(f"the seed made {len(complete)} complete profiles, {users} are needed; raise --profiles")
    chosen = complete[:users]
    rng.shuffle(chosen)
    active_ids, idle_ids = chosen[:active], chosen[active:]
    plan = plan_social(active_ids, idle_ids, rng)
    await seed_social(ctx, plan.matches, plan.likes)
    tokens = dict(await mint_tokens(ctx.sessions, chosen, ctx.tokens))
    (moderator_id, moderator_token), = await seed_users(ctx.sessions, 1, ctx.tokens, f"{ctx.tag}m", role="moderator")
    ctx.seeded.append(moderator_id)

    nodes = await ctx.nodes(["node_a", "node_b"])
    rec = Recorder()
    like_interval = max(13.0, duration / 10)
    world = World([n.ws_url for n in nodes], rec, seed=args.seed, like_interval_s=like_interval,
                  drop_every_s=args.drop_every, restart_every_s=args.restart_every)
    likes_made = Counter(str(liker) for liker, _ in plan.likes)
    second = set(rng.sample(active_ids, round(len(active_ids) * args.second_devices)))
    for k, user_id in enumerate(chosen):
        key = str(user_id)
        sim = SimUser(world, key, tokens[user_id], active=k < active, likes_ever=likes_made[key])
        home = k % len(nodes)
        sim.devices.append(Device(sim, home, True))
        if user_id in second:
            sim.devices.append(Device(sim, (home + 1) % len(nodes), False))
        world.users[key] = sim
    moderator = Moderator(world, str(moderator_id), moderator_token)
    devices = [*world.devices(), *moderator.devices]
    sampler = Sampler(nodes, rec, lambda: _sockets_per_node(devices, nodes))
    sampler.start()
    try:
        say(f"mixed: connecting {len(devices)} sockets ({users} users) to {', '.join(n.name for n in nodes)}")
        started = time.monotonic()
        results = await _gather_limited([d.connect(world.urls) for d in devices],
                                        progress=_every(500, len(devices), "mixed: sockets open"))
        connect_s = time.monotonic() - started
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            say(f"mixed: {len(failures)} sockets failed to connect, first: {failures[0]!r}")
        hello_ms = [r * 1000 for r in results if isinstance(r, float)]
        # the generator's own collections would count as delivery latency (a full one took 330 ms with 2,000
        # clients; young ones up to 40 ms): freeze what lives for the whole run and collect nothing while the
        # users run; this process's garbage waits for the end of the run (its peak RSS is in the summary)
        gc.collect()
        gc.freeze()
        gc.disable()
        groups = ctx.cpu_groups(nodes)
        rec.reset_clock()
        world.running = True
        world.next_report_at = time.monotonic() + 5
        ramp = min(10.0, max(1.0, args.warmup * 0.7))
        runners = [asyncio.create_task(u.run(ramp)) for u in world.users.values() if u.active]
        moderating = asyncio.create_task(moderator.moderate())
        say(f"mixed: {active} active users starting; {args.warmup:g}s of warm-up (not measured)")
        await _progress(rec, sampler, args.warmup, args.progress)
        warmup = {"seconds": args.warmup, "latency_ms": {
            k: v for k, v in report.latency_table(dict(rec.samples)).items()
            if k in ("deliveries (all)", "match.created", "message.created")}}
        rec.reset_clock()
        measured_from_unix = time.time()
        sampler.rows.clear()
        cpu0, wall0 = cpu_snapshot(groups), time.monotonic()
        say(f"mixed: measuring for {duration:g}s (likes at most every {like_interval:g}s)")
        await _progress(rec, sampler, duration, args.progress)
        world.running = False
        cpu1, wall1 = cpu_snapshot(groups), time.monotonic()
        say("mixed: stopping the users")
        _, late = await asyncio.wait(runners, timeout=STOP_TIMEOUT_S)
        for task in [*late, moderating]:
            task.cancel()
        await asyncio.gather(*runners, moderating, return_exceptions=True)
        say("mixed: waiting for the last events, then verifying")
        caught_up = await wait_caught_up(ctx, devices)
        verification = await verify(ctx, devices, caught_up)
        server_log = ctx.procs.warnings([n.name for n in nodes]) if not args.url else None
        say(f"mixed: verification: {verification['expected_deliveries']} deliveries expected, "
            f"{verification['delivered_live']} live, {verification['recovered_by_sync']} by sync, "
            f"{verification['lost']} lost, {verification['unexpected']} unexpected")
    finally:
        gc.enable()
        gc.unfreeze()
        timeline = await sampler.stop()
        await asyncio.gather(*(d.close() for d in devices), return_exceptions=True)
        await asyncio.gather(*(_settle(n) for n in nodes))
        ctx.stop(nodes)
    samples: report.Samples = dict(rec.samples)
    per_s = [rec.delivered.get(s, 0) for s in range(int(duration))]
    for row in timeline:
        second_index = int(row["t"]) - 1
        row["delivered"] = rec.delivered.get(second_index, 0)
        row["commands"] = rec.commands.get(second_index, 0)
    names = [n.name for n in nodes]
    result = {
        "nodes": names, "users": users, "active": active, "sockets": len(devices), "duration_s": duration,
        "measured_from_unix": round(measured_from_unix, 3),
        "generator_max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "profiles": profiles, "second_devices": len(second), "like_interval_s": like_interval,
        "seeded_relations": {"matches": len(plan.matches), "pending_likes": len(plan.likes)},
        "warmup": warmup,
        "connect": {"seconds": round(connect_s, 1), "failed": len(failures), "hello_ms": report.summary_ms(hello_ms),
                    "per_s": round(len(hello_ms) / connect_s, 1) if connect_s else None},
        "latency_ms": report.latency_table(samples),
        "commands": {"total": sum(rec.command_types.values()),
                     "per_s_mean": round(sum(rec.command_types.values()) / duration, 1)},
        "command_types": dict(rec.command_types.most_common()),
        "errors": dict(rec.errors.most_common()),
        "events": dict(rec.event_types.most_common()),
        "delivered_per_s": {"mean": round(sum(per_s) / max(1, len(per_s)), 1), "peak": max(per_s, default=0)},
        "verification": verification,
        "node_memory": {n: _memory(timeline, n) for n in names},
        "cpu_percent": cpu_percent(cpu0, cpu1, wall1 - wall0),
        "server_log": server_log,
        "drops": sum(d.drops for d in devices), "restarts": sum(d.restarts for d in devices),
        "reports_resolved": moderator.resolved,
        "timeline": timeline,
    }
    return result, samples


def _sockets_per_node(devices: list[Device], nodes: list[Node]) -> dict[str, int]:
    counts = dict.fromkeys((n.name for n in nodes), 0)
    for device in devices:
        index = device.node
        if index is not None:
            counts[nodes[index].name] += 1
    return counts


def _memory(timeline: list[dict[str, Any]], node: str) -> dict[str, float | None]:
    values = [r["rss_mb"][node] for r in timeline if node in r["rss_mb"]]
    if not values:
        return {"start": None, "end": None, "max": None}
    return {"start": values[0], "end": values[-1], "max": max(values)}


async def _progress(rec: Recorder, sampler: Sampler, duration: float, every: float) -> None:
    """Sleep through the run, printing one line every ``every`` seconds."""
    end = time.monotonic() + duration
    last_at, last_delivered, last_commands = 0.0, 0, 0
    while (left := end - time.monotonic()) > 0.5:
        await asyncio.sleep(min(every, left))
        now_s = rec.at_s(time.monotonic_ns())
        delivered, commands = sum(rec.delivered.values()), sum(rec.commands.values())
        span = max(1e-6, now_s - last_at)
        row = sampler.rows[-1] if sampler.rows else {"sockets": {}, "rss_mb": {}}
        say(f"t={now_s:5.0f}s sockets {'/'.join(str(v) for v in row['sockets'].values())} | "
            f"{(delivered - last_delivered) / span:6.0f} events/s, {(commands - last_commands) / span:5.0f} cmd/s | "
            f"p99 ms match {_p99(rec, ('match.created',), last_at)} message {_p99(rec, ('message.created',), last_at)} "
            f"| RSS MB {'/'.join(f'{v:.0f}' for v in row['rss_mb'].values())} | errors {sum(rec.errors.values())} "
            f"| load {os.getloadavg()[0]:.2f}")
        last_at, last_delivered, last_commands = now_s, delivered, commands


# -- idle sockets and logins ---------------------------------------------------------------------------------

async def _pingers(ctx: Ctx, node: Node, count: int = PINGERS) -> list[DeleteClient]:
    users = await seed_users(ctx.sessions, count, ctx.tokens, f"{ctx.tag}p{node.name}")
    ctx.seeded.extend(u for u, _ in users)
    clients = [DeleteClient(node.ws_url, token) for _, token in users]
    await asyncio.gather(*(c.connect() for c in clients))
    return clients


async def _ping_for(clients: list[DeleteClient], seconds: float | None,
                    stop: asyncio.Event | None = None) -> list[float]:
    """Each client pings every ``PING_INTERVAL_S`` for ``seconds`` (or until ``stop``); reply times in ms."""
    samples: list[float] = []
    end = time.monotonic() + (seconds if seconds is not None else 1e9)

    async def loop(client: DeleteClient) -> None:
        while time.monotonic() < end and not (stop is not None and stop.is_set()):
            started = time.perf_counter()
            with contextlib.suppress(Exception):
                await client.call("ping", timeout=10)
                samples.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(max(0.0, PING_INTERVAL_S - (time.perf_counter() - started)))

    await asyncio.gather(*(loop(c) for c in clients))
    return samples


async def idle_scenario(ctx: Ctx) -> tuple[dict[str, Any], list[float], list[float]]:
    from delete_api.bench.realtime import open_socket

    count, hold = ctx.args.idle_sockets, ctx.args.hold
    say(f"idle: seeding {count + WARMUP_SOCKETS} users")
    users = await seed_users(ctx.sessions, count + WARMUP_SOCKETS, ctx.tokens, f"{ctx.tag}i")
    ctx.seeded.extend(u for u, _ in users)
    (node,) = await ctx.nodes(["node_idle"])
    rec = Recorder()
    opened: list[Any] = []
    warm: list[Any] = []
    pingers: list[DeleteClient] = []
    sampler = Sampler([node], rec, lambda: {node.name: len(opened) + len(warm) + len(pingers)})
    sampler.start()
    try:
        pingers = await _pingers(ctx, node)
        headers = [{"Authorization": f"Bearer {token}"} for _, token in users]
        warm = [s for s in await _gather_limited([open_socket(node.ws_url, h) for h in headers[count:]])
                if not isinstance(s, BaseException)]
        await asyncio.sleep(SETTLE_S)
        say(f"idle: ping baseline for {BASELINE_PING_S:g}s")
        before_ping = await _ping_for(pingers, BASELINE_PING_S)
        rss_before = sampler.rss(node.name)
        say(f"idle: opening {count} idle sockets on {node.name}")
        started = time.monotonic()
        results = await _gather_limited([open_socket(node.ws_url, h) for h in headers[:count]],
                                        progress=_every(max(1, count // 10), count, "idle: sockets open"))
        took = time.monotonic() - started
        opened.extend(r for r in results if not isinstance(r, BaseException))
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            raise BenchError(f"{len(failed)} of {count} idle sockets did not open: {failed[0]!r}")
        gc.collect()
        gc.freeze()  # as in the mixed load: this process's own collections are not the node's latency
        await asyncio.sleep(SETTLE_S)
        rss_open = sampler.rss(node.name)
        say(f"idle: holding {len(opened)} sockets for {hold:g}s while {len(pingers)} sockets ping")
        groups = ctx.cpu_groups([node])
        cpu0, wall0 = cpu_snapshot(groups), time.monotonic()
        ping = await _ping_for(pingers, hold)
        cpu = cpu_percent(cpu0, cpu_snapshot(groups), time.monotonic() - wall0)
        rss_hold = sampler.rss(node.name)
        server_log = ctx.procs.warnings([node.name]) if not ctx.args.url else None
    finally:
        gc.unfreeze()
        timeline = await sampler.stop()
        for ws in [*opened, *warm]:
            ws.transport.abort()
        await asyncio.gather(*(c.close() for c in pingers), return_exceptions=True)
        await _settle(node)
        ctx.stop([node])

    def per_socket(after: float | None) -> float | None:
        if rss_before is None or after is None or not opened:
            return None
        return round((after - rss_before) / len(opened) / 1024, 1)

    result = {"sockets": len(opened), "hold_s": hold, "node": node.name,
              "rss_mb": {k: None if v is None else round(v / 2**20, 1)
                         for k, v in (("before", rss_before), ("after_open", rss_open), ("after_hold", rss_hold))},
              "kb_per_socket": per_socket(rss_hold), "kb_per_socket_at_open": per_socket(rss_open),
              "connects_per_s": round(len(opened) / took, 1) if took else None,
              "ping_ms": report.summary_ms(ping), "ping_ms_before": report.summary_ms(before_ping),
              "cpu_percent": cpu.get(node.name), "cpu_percent_all": cpu, "server_log": server_log,
              "timeline": timeline}
    say(f"idle: {result['kb_per_socket']} KB per socket, ping p99 {result['ping_ms']['p99']} ms "
        f"(before {result['ping_ms_before']['p99']} ms)")
    return result, before_ping, ping


async def logins_scenario(ctx: Ctx) -> tuple[dict[str, Any], list[float], list[float]]:
    logins, rounds, cost = ctx.args.logins, ctx.args.login_rounds, ctx.args.bcrypt_cost
    say(f"logins: seeding {logins} users with a bcrypt cost {cost} password")
    tag = f"{ctx.tag}l"
    users = await seed_users(ctx.sessions, logins, ctx.tokens, tag, password=LOGIN_PASSWORD, bcrypt_cost=cost)
    ctx.seeded.extend(u for u, _ in users)
    (node,) = await ctx.nodes(["node_logins"], bcrypt_cost=cost)
    pingers: list[DeleteClient] = []
    statuses: Counter[int] = Counter()
    login_ms: list[float] = []
    try:
        pingers = await _pingers(ctx, node)
        say(f"logins: ping baseline for {BASELINE_PING_S:g}s")
        before = await _ping_for(pingers, BASELINE_PING_S)
        stop = asyncio.Event()
        pinging = asyncio.create_task(_ping_for(pingers, None, stop))
        groups = ctx.cpu_groups([node])
        cpu0, wall0 = cpu_snapshot(groups), time.monotonic()
        async with httpx.AsyncClient(base_url=node.base_url, timeout=60) as http:

            async def login(k: int) -> None:
                started = time.perf_counter()
                response = await http.post("/v1/auth/login", json={"email": f"bench-{tag}-{k}@example.test",
                                                                   "password": LOGIN_PASSWORD})
                login_ms.append((time.perf_counter() - started) * 1000)
                statuses[response.status_code] += 1

            for r in range(rounds):
                say(f"logins: round {r + 1}/{rounds}: {logins} concurrent logins")
                await asyncio.gather(*(login(k) for k in range(logins)))
        window_s = time.monotonic() - wall0
        cpu = cpu_percent(cpu0, cpu_snapshot(groups), window_s)
        stop.set()
        during = await pinging
        server_log = ctx.procs.warnings([node.name]) if not ctx.args.url else None
    finally:
        await asyncio.gather(*(c.close() for c in pingers), return_exceptions=True)
        ctx.stop([node])
    result = {"logins": logins, "rounds": rounds, "bcrypt_cost": cost, "node": node.name,
              "login_ms": report.summary_ms(login_ms), "login_status": {str(k): v for k, v in statuses.items()},
              "ping_ms_before": report.summary_ms(before), "ping_ms_during": report.summary_ms(during),
              "window_s": round(window_s, 1), "cpu_percent": cpu.get(node.name), "cpu_percent_all": cpu,
              "server_log": server_log}
    say(f"logins: login p50 {result['login_ms']['p50']} ms, ping p99 {result['ping_ms_during']['p99']} ms during "
        f"(before {result['ping_ms_before']['p99']} ms)")
    return result, before, during


# -- the command ----------------------------------------------------------------------------------------------

def scenarios(args: argparse.Namespace) -> list[str]:
    """Which scenarios the flags select (the mixed load when none is named)."""
    chosen = []
    if args.users is not None or args.duration is not None or (args.idle_sockets is None and args.logins is None):
        chosen.append("mixed")
    if args.idle_sockets is not None:
        chosen.append("idle")
    if args.logins is not None:
        chosen.append("logins")
    return chosen


async def wait_for_quiet(limit: float, max_wait_s: float = 600.0) -> None:
    """Wait (polling every 30 s, up to ``max_wait_s``) until the 1-minute load average is at most ``limit``."""
    deadline = time.monotonic() + max_wait_s
    while (load := os.getloadavg()[0]) > limit and time.monotonic() < deadline:
        say(f"load average {load:.2f} > {limit:g}: waiting for a quieter machine")
        await asyncio.sleep(30)


async def bench(args: argparse.Namespace, settings: Settings, resolved: Settings, procs: Processes,
                work: Path, out: Path) -> dict[str, Any]:
    assert resolved.database_url and resolved.jwt_secret
    if args.wait_quiet is not None:
        await wait_for_quiet(args.wait_quiet)
    engine = make_engine(resolved.database_url.reveal(), pool_size=4, max_overflow=4)
    ctx = Ctx(args=args, settings=settings, resolved=resolved, procs=procs, work=work, engine=engine,
              sessions=make_sessionmaker(engine), infra=infra_pids(settings, work),
              tokens=TokenConfig(secret=resolved.jwt_secret.reveal(), algorithm=resolved.jwt_algorithm,
                                 access_ttl_s=12 * 3600))
    machine = machine_facts()
    background, busiest = await other_load(procs, ctx.infra)
    say(f"load average {machine['load_average']['1m']}; other processes used {background}% of a core")
    chosen = scenarios(args)
    doc: dict[str, Any] = {"benchmark": "load", "params": _params(args, settings, chosen),
                           "machine": {**machine, "other_load_percent_of_core": background,
                                       "other_load_busiest": busiest},
                           "mixed": None, "soak": None, "idle": None, "logins": None}
    mixed_samples: report.Samples | None = None
    pings: dict[str, list[float]] = {}
    try:
        if "mixed" in chosen:
            doc["mixed"], mixed_samples = await mixed_scenario(ctx)
            doc["soak"] = report.soak_figures(doc["mixed"]["timeline"], mixed_samples, doc["mixed"]["duration_s"],
                                              doc["mixed"]["nodes"])
        if "idle" in chosen:
            doc["idle"], pings["before idle sockets"], pings[f"{args.idle_sockets} idle sockets held"] = \
                await idle_scenario(ctx)
        if "logins" in chosen:
            doc["logins"], pings["before logins"], pings[f"{args.logins} logins running"] = \
                await logins_scenario(ctx)
    finally:
        if ctx.seeded and (args.data_dir or not settings.embedded_database):
            with contextlib.suppress(Exception):
                async with unit_of_work(ctx.sessions) as session:  # cascades to their events, likes and logins
                    await session.execute(delete(User).where(User.id.in_(ctx.seeded)))
        await engine.dispose()
    doc["machine"]["load_average_end"] = machine_facts()["load_average"]
    doc["targets"] = report.targets(doc)
    doc["problems"] = report.problems(doc)
    doc["healthy"] = not doc["problems"]
    doc["wall_s"] = elapsed_s()
    report.write(doc, mixed_samples, pings, out)
    return doc


def _params(args: argparse.Namespace, settings: Settings, chosen: list[str]) -> dict[str, Any]:
    return {"command": "delete-api bench load " + " ".join(sys.argv[3:]) if sys.argv[1:3] == ["bench", "load"]
            else " ".join(sys.argv), "scenarios": chosen,
            **{k: v for k, v in vars(args).items() if k not in ("handler", "benchmark", "command")},
            "database": "embedded" if settings.embedded_database else "DATABASE_URL",
            "redis": "embedded" if settings.embedded_redis else "REDIS_URL"}


def _defaults(args: argparse.Namespace) -> None:
    if "mixed" in scenarios(args):
        args.users = args.users if args.users is not None else 2000
        args.active = args.active if args.active is not None else max(1, args.users // 10)
        args.duration = args.duration if args.duration is not None else 60.0
    if args.url and not (os.environ.get("DATABASE_URL") and os.environ.get("JWT_SECRET")):
        raise BenchError("--url needs DATABASE_URL and JWT_SECRET: the users are seeded into the nodes' database "
                         "and their tokens signed with the nodes' secret")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """``delete-api bench load``: write the report folder; 1 if the benchmark could not run."""
    import logging

    from delete_api import migrate
    from delete_api.embedded.stack import embedded_stack

    for noisy in ("alembic", "httpx", "delete_api.migrate", "realtime.client"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    out = Path(args.out or Path("bench-results") / f"load-{datetime.now(UTC):%Y%m%d-%H%M%S}").absolute()
    try:
        _defaults(args)
        sockets = max(args.users or 0, 0) * 2 + (args.idle_sockets or 0) + 2 * WARMUP_SOCKETS + 1024
        raise_fd_limit(sockets)
        with contextlib.ExitStack() as stack:
            if args.data_dir:
                work = Path(args.data_dir).absolute()
            else:
                work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="delete-bench-load-")))
            settings = replace(settings, data_dir=work)
            if settings.jwt_secret is None:
                settings = settings.with_urls(jwt_secret=secrets.token_urlsafe(48))
            embedded = settings.embedded_database or settings.embedded_redis
            say(f"preparing PostgreSQL and Redis in {work}" if embedded else "using DATABASE_URL and REDIS_URL")
            resolved = stack.enter_context(embedded_stack(settings))
            assert resolved.database_url is not None
            migrate.upgrade(resolved.database_url.reveal())
            procs = Processes(work / "bench-logs")
            stack.callback(procs.stop)
            document = run_async(bench(args, settings, resolved, procs, work, out))
            say("stopping")
    except BenchError as exc:
        print(f"delete-api bench: {exc}", file=sys.stderr)
        return 1
    except (asyncio.CancelledError, KeyboardInterrupt):
        print("delete-api bench: stopped; every process it started was stopped", file=sys.stderr)
        return 130
    say(f"report: {out / 'report.md'}")
    print(json.dumps({"report": str(out), "healthy": document["healthy"], "problems": document["problems"],
                      "targets": {k: {"value": t["value"], "met": t["met"]} for k, t in document["targets"].items()}},
                     indent=2))
    return 0 if document["healthy"] or not args.fail_unhealthy else 3
