"""The idle-sockets and logins scenarios of ``python -m bench load``: one fresh node each, ping replies
measured before and while the node holds the idle sockets or runs the bcrypt logins."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections import Counter
from typing import Any

import httpx
from delete_client import DeleteClient

from bench import load_figures as figures
from bench.harness import (
    BenchError,
    cpu_percent,
    cpu_snapshot,
    open_socket,
    say,
    seed_users,
)
from bench.load_context import Ctx, Node, Sampler, gather_limited, progress_every, settle_node
from bench.load_recorder import (
    Recorder,
)

PINGERS = 10
PING_INTERVAL_S = 0.1
WARMUP_SOCKETS = 100
SETTLE_S = 2.0
BASELINE_PING_S = 5.0
LOGIN_PASSWORD = "load-bench-password"  # a throwaway account of the benchmark


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
        warm = [s for s in await gather_limited([open_socket(node.ws_url, h) for h in headers[count:]])
                if not isinstance(s, BaseException)]
        await asyncio.sleep(SETTLE_S)
        say(f"idle: ping baseline for {BASELINE_PING_S:g}s")
        before_ping = await _ping_for(pingers, BASELINE_PING_S)
        rss_before = sampler.rss(node.name)
        say(f"idle: opening {count} idle sockets on {node.name}")
        started = time.monotonic()
        results = await gather_limited([open_socket(node.ws_url, h) for h in headers[:count]],
                                        progress=progress_every(max(1, count // 10), count, "idle: sockets open"))
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
        await settle_node(node)
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
              "ping_ms": figures.summary_ms(ping), "ping_ms_before": figures.summary_ms(before_ping),
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
              "login_ms": figures.summary_ms(login_ms), "login_status": {str(k): v for k, v in statuses.items()},
              "ping_ms_before": figures.summary_ms(before), "ping_ms_during": figures.summary_ms(during),
              "window_s": round(window_s, 1), "cpu_percent": cpu.get(node.name), "cpu_percent_all": cpu,
              "server_log": server_log}
    say(f"logins: login p50 {result['login_ms']['p50']} ms, ping p99 {result['ping_ms_during']['p99']} ms during "
        f"(before {result['ping_ms_before']['p99']} ms)")
    return result, before, during
