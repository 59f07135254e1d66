"""``python -m bench load --restart-sockets N``: a rolling restart of a node holding N sockets.

Two fresh nodes. N users (seeded in SQL, a login each) connect to node A with bare sockets that behave as the
apps do on a 1012 (CONTRACT: "server restarting: reconnect, to another node"): reconnect at once to node B
with ``?last_seq=<the last seq they hold>`` and take the missed events before anything live; a failed attempt
is retried with jittered back-off (50 ms doubling to 2 s). While durable events flow to these users
(``--restart-rate`` a second, stored and published after commit as a command's are), node A gets SIGTERM.
The simulated apps are in ``bench.load_restart_apps``. Measured:

- **time until all resumed**: from the SIGTERM until the last client holds every event up to the ``last_seq``
  of its new hello (target: 15 s);
- **events lost**: per user, stored seqs after its first hello that its client never got (target: 0); seqs
  that arrived twice or out of order are counted apart;
- **database round trips per resume**: the nodes' own ``delete_db_round_trips_total`` (SQL statements,
  BEGIN, COMMIT, ROLLBACK), from just before the SIGTERM until all resumed, over both nodes (node A's up to
  its last scrape before it exited; it is scraped every 200 ms), divided by the resumes (target: <= 2);
- the same from PostgreSQL's side, which sees node A until it exits: the transactions ``pg_stat_database``
  counted meanwhile, less the benchmark's own (each is at least three round trips);
- node B's CPU per resume (user + system of its process over the storm / resumes): on a shared machine the
  wall-clock figures depend on what else runs, this one much less; and node B's resumes/s of wall time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import time
import uuid
from collections import Counter
from typing import Any

import psutil
import redis.asyncio as aioredis
from sqlalchemy import select, text

from bench.harness import BenchError, say, seed_users
from bench.load_context import Ctx, Node
from bench.load_restart_apps import RESTART_CODE, App, open_all
from bench.server_metrics import Samples, scrape
from domain.events.log import EventLog
from domain.models import UserEventCounter
from domain.transaction import unit_of_work
from infra.redis_publisher import RedisPublisher

RESUME_TARGET_S = 15.0
ROUND_TRIPS_TARGET = 2.0
SERVER_PREFIX = "delete:"  # the Redis prefix of `delete-api serve`
EVENT_TYPE = "bench.restart"
STORM_TIMEOUT_S = 90.0
PRODUCERS = 32
ROUND_TRIPS = "delete_db_round_trips_total"
PG_STATS_FLUSH_S = 11.0


class Producer:
    """Durable events to random users at a fixed rate, each stored and published after commit."""

    def __init__(self, ctx: Ctx, redis: aioredis.Redis, users: list[uuid.UUID], rate: float) -> None:
        self.log = EventLog(RedisPublisher(redis), SERVER_PREFIX)
        self.ctx, self.users, self.rate = ctx, users, rate
        self.sent = 0
        self.finished = 0  # transactions ended, committed or not (PostgreSQL counts them too)
        self.errors: list[str] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        gate = asyncio.Semaphore(PRODUCERS)
        pending: set[asyncio.Task[None]] = set()
        rng = random.Random(1)
        start, i = time.monotonic(), 0
        try:
            while True:
                await asyncio.sleep(max(0.0, start + i / self.rate - time.monotonic()))
                await gate.acquire()
                task = asyncio.create_task(self._emit(rng.choice(self.users), i, gate))
                pending.add(task)
                task.add_done_callback(pending.discard)
                i += 1
        finally:
            await asyncio.gather(*pending, return_exceptions=True)  # let stored events be published

    async def _emit(self, user: uuid.UUID, i: int, gate: asyncio.Semaphore) -> None:
        try:
            async with unit_of_work(self.ctx.sessions) as session:
                await self.log.append(session, user, EVENT_TYPE, {"i": i})
            self.sent += 1
        except Exception as exc:
            self.errors.append(f"{type(exc).__name__}: {exc}"[:200])
        finally:
            self.finished += 1
            gate.release()


def _round_trips(samples: Samples) -> dict[str, float]:
    return {dict(labels).get("kind", "?"): value for (name, labels), value in samples.items() if name == ROUND_TRIPS}


async def _scrape_round_trips(node: Node) -> dict[str, float] | None:
    if node.metrics_url is None:
        return None
    with contextlib.suppress(Exception):
        return _round_trips(await scrape([node.metrics_url]))
    return None


async def _watch_until_exit(ctx: Ctx, node: Node, last: list[dict[str, float]]) -> float | None:
    """Scrape ``node`` every 200 ms until its process exits (keeping the last answer); seconds it took to exit."""
    proc = ctx.procs.procs[node.name]
    started = time.monotonic()
    while proc.poll() is None and time.monotonic() - started < 30:
        found = await _scrape_round_trips(node)
        if found is not None:
            last.append(found)
        await asyncio.sleep(0.2)
    return round(time.monotonic() - started, 2) if proc.poll() is not None else None


async def _transactions(ctx: Ctx) -> int:
    """Transactions PostgreSQL counted in this database (``pg_stat_database``; this read is one of them)."""
    async with ctx.sessions() as session:
        found = await session.execute(text("SELECT xact_commit + xact_rollback FROM pg_stat_database "
                                           "WHERE datname = current_database()"))
        return int(found.scalar_one())


def _cpu_s(node: Node) -> float:
    """User and system CPU seconds of the node's process so far (0 when it is not on this machine)."""
    with contextlib.suppress(psutil.Error, TypeError):
        times = psutil.Process(node.pid).cpu_times()
        return float(times.user + times.system)
    return 0.0


def _delta(after: dict[str, float] | None, before: dict[str, float] | None) -> dict[str, float]:
    if after is None or before is None:
        return {}
    return {kind: after.get(kind, 0.0) - before.get(kind, 0.0) for kind in after}


async def _stored(ctx: Ctx, users: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    async with ctx.sessions() as session:
        rows = await session.execute(select(UserEventCounter.user_id, UserEventCounter.last_seq)
                                     .where(UserEventCounter.user_id.in_(users)))
        return {user_id: int(seq) for user_id, seq in rows.all()}


def _losses(apps: list[App], stored: dict[uuid.UUID, int]) -> dict[str, int]:
    """``lost``: stored events a resumed client never got; clients that never resumed are counted apart."""

    def missing(app: App) -> int:
        return max(0, stored.get(app.user_id, 0) - app.last_seq) + app.skipped

    resumed = [a for a in apps if a.resumed_at is not None]
    return {"lost": sum(missing(a) for a in resumed),
            "undelivered_to_clients_not_resumed": sum(missing(a) for a in apps if a.resumed_at is None),
            "out_of_order_or_twice": sum(a.disorder for a in apps),
            "events_owed": sum(stored.get(a.user_id, 0) - (a.first_head or 0) for a in apps)}


async def _storm(ctx: Ctx, apps: list[App], a: Node, b: Node, producer: Producer) -> dict[str, Any]:
    """SIGTERM node A; wait until every app resumed on node B (or failed); the storm's figures."""
    xacts_before, produced_before = await _transactions(ctx), producer.finished
    b_cpu_before = _cpu_s(b)
    before = {n.name: await _scrape_round_trips(n) for n in (a, b)}
    if before[a.name] is None or before[b.name] is None:
        raise BenchError("the nodes' metrics (delete_db_round_trips_total) could not be scraped")
    a_seen: list[dict[str, float]] = []
    say(f"restart: SIGTERM to {a.name} holding {len(apps)} sockets")
    sigterm_at = time.monotonic()
    os.killpg(ctx.procs.procs[a.name].pid, signal.SIGTERM)
    watcher = asyncio.create_task(_watch_until_exit(ctx, a, a_seen))
    waiting = asyncio.gather(*(app.done.wait() for app in apps))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(waiting, STORM_TIMEOUT_S)
    b_after = await _scrape_round_trips(b)
    b_cpu = _cpu_s(b) - b_cpu_before
    exit_s = await watcher
    # idle backends report their counts within PostgreSQL's idle flush interval (10 s); node A's did at exit
    await asyncio.sleep(PG_STATS_FLUSH_S)
    produced = producer.finished - produced_before
    xacts = await _transactions(ctx) - xacts_before - produced - 1  # the nodes' transactions, as PostgreSQL saw them
    resumed = [app for app in apps if app.resumed_at is not None]
    closes = sorted(app.closed_at - sigterm_at for app in apps if app.closed_at is not None)
    times = sorted(app.resumed_at - sigterm_at for app in resumed if app.resumed_at is not None)
    all_s = round(times[-1], 2) if len(resumed) == len(apps) and times else None
    trips_a = _delta(a_seen[-1] if a_seen else None, before[a.name])
    trips_b = _delta(b_after, before[b.name])
    total = sum(trips_a.values()) + sum(trips_b.values())
    return {"resumed": len(resumed), "failed": [app.failure for app in apps if app.failure][:5],
            "failures": sum(1 for app in apps if app.failure),
            "closed_1012": sum(1 for app in apps if app.close_code == RESTART_CODE),
            "time_until_all_resumed_s": all_s,
            "resume_s": {"p50": _pick(times, 0.5), "p99": _pick(times, 0.99), "max": times[-1] if times else None},
            "resume_attempts": sum(app.attempts for app in apps),
            "resume_attempt_errors": dict(Counter(e for app in apps for e in app.errors).most_common(5)),
            "node_a_exit_s": exit_s,
            "db_round_trips": {"node_a": trips_a, "node_b": trips_b, "total": total},
            "db_round_trips_per_resume": round(total / len(resumed), 3) if resumed else None,
            # a cross-check that sees node A to its exit: every transaction is at least BEGIN, one statement and
            # COMMIT or ROLLBACK (3 round trips); until node B's figure was taken plus the flush wait
            "postgres_node_transactions": xacts,
            "postgres_node_transactions_per_resume": round(xacts / len(resumed), 3) if resumed else None,
            "node_b_connects_per_s": round(len(resumed) / times[-1], 1) if times else None,
            # what a resume costs node B, whatever else the machine runs: the storm's time on a core of its own
            "node_b_cpu_s": round(b_cpu, 2),
            "node_b_cpu_ms_per_resume": round(b_cpu * 1000 / len(resumed), 2) if resumed else None,
            "closed_1012_s": {"p50": _pick(closes, 0.5), "max": _pick(closes, 1.0)}}


def _pick(values: list[float], q: float) -> float | None:
    return round(values[min(len(values) - 1, int(q * len(values)))], 3) if values else None


def _targets(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    all_s, lost, trips = (result["time_until_all_resumed_s"], result["events"]["lost"],
                          result["db_round_trips_per_resume"])
    scale = result["sockets"] >= 5000

    def target(what: str, value: Any, ok: bool | None, at_scale: bool) -> dict[str, Any]:
        return {"target": what, "value": value, "met": ok if at_scale else None, "value_meets_bound": ok,
                "at_target_scale": at_scale, "limited_by": ""}

    return {
        "restart_all_resumed_within_15s": target(
            f"rolling restart of a node with 5000 sockets: every client resumed on another node within "
            f"{RESUME_TARGET_S:g} s", all_s, all_s is not None and all_s <= RESUME_TARGET_S, scale),
        "restart_zero_events_lost": target(
            "rolling restart: zero durable events lost (by resumed clients; every client must have resumed)", lost,
            lost == 0 and result["resumed"] == result["sockets"], True),
        "restart_db_round_trips_per_resume_le_2": target(
            f"rolling restart: <= {ROUND_TRIPS_TARGET:g} PostgreSQL round trips per resume (both nodes' "
            "delete_db_round_trips_total / resumes)", trips, trips is not None and trips <= ROUND_TRIPS_TARGET,
            scale)}


async def restart_scenario(ctx: Ctx) -> dict[str, Any]:
    """The rolling restart; its figures, with ``targets`` (met/missed) of its own."""
    if ctx.args.url:
        raise BenchError("--restart-sockets sends SIGTERM to a node: it needs nodes this benchmark starts (no --url)")
    count, rate = ctx.args.restart_sockets, ctx.args.restart_rate
    assert ctx.resolved.redis_url is not None
    say(f"restart: seeding {count} users")
    users = await seed_users(ctx.sessions, count, ctx.tokens, f"{ctx.tag}r")
    ctx.seeded.extend(u for u, _ in users)
    a, b = await ctx.nodes(["restart_a", "restart_b"])
    apps = [App(user_id, token) for user_id, token in users]
    redis = aioredis.Redis.from_url(ctx.resolved.redis_url.reveal(), max_connections=2 * PRODUCERS)
    producer = Producer(ctx, redis, [u for u, _ in users], rate)
    tasks: list[asyncio.Task[None]] = []
    try:
        started = time.monotonic()
        sockets = await open_all(apps, a)
        opened_s = time.monotonic() - started
        tasks = [asyncio.create_task(app.run(ws, b.ws_url)) for app, ws in zip(apps, sockets, strict=True)]
        producer.start()
        await asyncio.sleep(2.0)  # events flow before the restart, as they would
        storm = await _storm(ctx, apps, a, b, producer)
        await asyncio.sleep(1.0)  # and after it
        await producer.stop()
        await asyncio.sleep(3.0)  # the last events reach their sockets
        stored = await _stored(ctx, [u for u, _ in users])
    finally:
        await producer.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await redis.aclose()
        proc = ctx.procs.procs.get(a.name)
        if proc is not None and proc.poll() is not None:
            ctx.procs.procs.pop(a.name)  # exited after its SIGTERM
        ctx.stop([a, b])
    result: dict[str, Any] = {
        "sockets": count, "event_rate": rate, "events_sent": producer.sent, "producer_errors": producer.errors[:5],
        "node_a_connects_per_s_at_open": round(count / opened_s, 1) if opened_s else None, **storm,
        "events": _losses(apps, stored)}
    result["targets"] = _targets(result)
    say(f"restart: {result['resumed']}/{count} resumed, all within {result['time_until_all_resumed_s']} s, "
        f"{result['events']['lost']} events lost, {result['db_round_trips_per_resume']} DB round trips per resume")
    return result
