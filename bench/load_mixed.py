"""The mixed load (and soak) of ``python -m bench load``: realistic profiles and relations seeded, app users
on two nodes, latency per event type while they run, then the verification."""

from __future__ import annotations

import asyncio
import gc
import math
import os
import random
import resource
import secrets
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from bench import load_figures as figures
from bench import server_metrics
from bench.harness import (
    BenchError,
    cpu_percent,
    cpu_snapshot,
    mint_tokens,
    say,
    seed_users,
)
from bench.load_context import Ctx, Node, Sampler, gather_limited, progress_every, settle_node
from bench.load_recorder import Recorder
from bench.load_users import (
    Moderator,
    SimUser,
)
from bench.load_verify import devices_caught_up, verify
from bench.load_world import (
    Device,
    World,
)
from domain.transaction import unit_of_work

STOP_TIMEOUT_S = 25.0


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


@dataclass
class SocialPlan:
    """Relations seeded before the run: matches to chat in, and likes waiting to be answered."""

    matches: list[tuple[uuid.UUID, uuid.UUID]]
    likes: list[tuple[uuid.UUID, uuid.UUID]]  # (liker, likee)


def plan_social(active: list[uuid.UUID], idle: list[uuid.UUID], rng: random.Random, *,
                matches_per_active: int = 3, likes_per_active: int = 8) -> SocialPlan:
    """Each active user: matches with two active people and one idle one; likes from people of both kinds."""
    taken: set[tuple[uuid.UUID, uuid.UUID]] = set()
    matches: list[tuple[uuid.UUID, uuid.UUID]] = []
    likes: list[tuple[uuid.UUID, uuid.UUID]] = []
    everyone = active + idle

    def free(a: uuid.UUID, b: uuid.UUID) -> bool:
        return a != b and (min(a, b), max(a, b)) not in taken

    def take(a: uuid.UUID, b: uuid.UUID) -> None:
        taken.add((min(a, b), max(a, b)))

    for user in active:
        for k in range(matches_per_active):
            pool = idle if (k == matches_per_active - 1 and idle) else active
            for _ in range(20):
                other = rng.choice(pool)
                if free(user, other):
                    take(user, other)
                    matches.append((min(user, other), max(user, other)))
                    break
        for _ in range(likes_per_active):
            for _ in range(20):
                liker = rng.choice(everyone if rng.random() < 0.3 else (idle or everyone))
                if free(user, liker):
                    take(user, liker)
                    likes.append((liker, user))
                    break
    return SocialPlan(matches, likes)


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


# -- mixed load (and soak) ---------------------------------------------------------------------------------

def _p99(rec: Recorder, kinds: tuple[str, ...], since_s: float) -> str:
    values = figures.window({k: rec.samples[k] for k in kinds if k in rec.samples}, kinds, since_s, 1e9)
    p99 = figures.summary_ms(values)["p99"]
    return "-" if p99 is None else f"{p99:.1f}"


async def mixed_scenario(ctx: Ctx) -> tuple[dict[str, Any], figures.Samples]:
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

    nodes = await ctx.nodes([f"node_{chr(ord('a') + k)}" for k in range(args.nodes)])
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
        results = await gather_limited([d.connect(world.urls) for d in devices],
                                        progress=progress_every(500, len(devices), "mixed: sockets open"))
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
            k: v for k, v in figures.latency_table(dict(rec.samples)).items()
            if k in ("deliveries (all)", "match.created", "message.created")}}
        rec.reset_clock()
        scrape_urls = [n.metrics_url for n in nodes if n.metrics_url]
        server_before = await server_metrics.scrape(scrape_urls)
        measured_from_unix = time.time()
        sampler.rows.clear()
        ctx.start_profiles(nodes)
        cpu0, wall0, completed0 = cpu_snapshot(groups), time.monotonic(), rec.completed
        say(f"mixed: measuring for {duration:g}s (likes at most every {like_interval:g}s)")
        await _progress(rec, sampler, duration, args.progress)
        world.running = False
        cpu1, wall1, completed1 = cpu_snapshot(groups), time.monotonic(), rec.completed
        per_command = figures.cpu_per_command(cpu0, cpu1, [n.name for n in nodes], completed1 - completed0)
        say(f"mixed: {figures.cpu_per_command_line(per_command)}")
        server_view = _server_view(server_metrics.window(server_before, await server_metrics.scrape(scrape_urls)))
        cpu_profile = await ctx.collect_profiles(nodes)
        say("mixed: stopping the users")
        _, late = await asyncio.wait(runners, timeout=STOP_TIMEOUT_S)
        for task in [*late, moderating]:
            task.cancel()
        await asyncio.gather(*runners, moderating, return_exceptions=True)
        say("mixed: waiting for the last events, then verifying")
        caught_up = await devices_caught_up(ctx, devices)
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
        await asyncio.gather(*(settle_node(n) for n in nodes))
        ctx.stop(nodes)
    samples: figures.Samples = dict(rec.samples)
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
        "connect": {"seconds": round(connect_s, 1), "failed": len(failures), "hello_ms": figures.summary_ms(hello_ms),
                    "per_s": round(len(hello_ms) / connect_s, 1) if connect_s else None},
        "latency_ms": figures.latency_table(samples),
        "commands": {"total": sum(rec.command_types.values()),
                     "per_s_mean": round(sum(rec.command_types.values()) / duration, 1)},
        "command_types": dict(rec.command_types.most_common()),
        "errors": dict(rec.errors.most_common()),
        "events": dict(rec.event_types.most_common()),
        "delivered_per_s": {"mean": round(sum(per_s) / max(1, len(per_s)), 1), "peak": max(per_s, default=0)},
        "verification": verification,
        "node_memory": {n: _memory(timeline, n) for n in names},
        "cpu_percent": cpu_percent(cpu0, cpu1, wall1 - wall0),
        "cpu_per_command": per_command,
        "cpu_profile": cpu_profile,
        "server_log": server_log,
        "server_latency_ms": server_view,
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


def _server_view(window: server_metrics.Samples) -> dict[str, Any]:
    """The nodes' own latency histograms over the measured window: per command, and the delivery lag."""
    return {"commands": server_metrics.quantiles(window, "delete_command_duration_seconds", "command"),
            "delivery_lag": server_metrics.quantiles(window, "delete_event_delivery_lag_seconds").get("all")}
