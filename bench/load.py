"""``python -m bench load``: the product as its users load it, with every durable event accounted for.

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
- **restart** (``--restart-sockets N``): two fresh nodes, N sockets on one of them, durable events flowing;
  SIGTERM to that node (1012) and every client resumes on the other: time until all resumed, events lost,
  PostgreSQL round trips per resume (``load_restart``).
- **logins** (``--logins K``): one fresh node at ``--bcrypt-cost`` (12); K concurrent REST logins,
  ``--login-rounds`` times, while sockets ping: ping p99 before and during.

Writes ``summary.json``, ``report.md`` and the PNG plots into ``--out`` (see ``bench/report.py``),
prints progress on standard error, and stops every process it started, also on Ctrl-C and SIGTERM.

This module is the command; the scenarios are ``load_mixed`` (with ``load_verify``) and ``load_sockets``,
on what ``load_context`` provides; the simulated users are ``load_users``, the figures ``load_figures``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete

from bench import load_figures as figures
from bench import report
from bench.harness import (
    BenchError,
    Processes,
    elapsed_s,
    infra_pids,
    machine_facts,
    other_load,
    raise_fd_limit,
    run_async,
    say,
    stage,
)
from bench.load_context import Ctx
from bench.load_mixed import mixed_scenario
from bench.load_restart import restart_scenario
from bench.load_sockets import WARMUP_SOCKETS, idle_scenario, logins_scenario
from bench.redis_shards import redis_shards
from delete_api.database import make_engine, make_sessionmaker
from delete_api.settings import Settings
from domain.auth.tokens import TokenConfig
from domain.models import User
from domain.transaction import unit_of_work

# -- the command ----------------------------------------------------------------------------------------------

def scenarios(args: argparse.Namespace) -> list[str]:
    """Which scenarios the flags select (the mixed load when none is named)."""
    chosen = []
    if args.users is not None or args.duration is not None or (
            args.idle_sockets is None and args.logins is None and args.restart_sockets is None):
        chosen.append("mixed")
    if args.idle_sockets is not None:
        chosen.append("idle")
    if args.logins is not None:
        chosen.append("logins")
    if args.restart_sockets is not None:
        chosen.append("restart")
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
              profile_dir=out / "cpu-profile" if args.cpu_profile else None,
              tokens=TokenConfig(secret=resolved.jwt_secret.reveal(), algorithm=resolved.jwt_algorithm,
                                 access_ttl_s=12 * 3600))
    machine = machine_facts()
    background, busiest = await other_load(procs, ctx.infra)
    say(f"load average {machine['load_average']['1m']}; other processes used {background}% of a core")
    chosen = scenarios(args)
    doc: dict[str, Any] = {"benchmark": "load", "params": _params(args, settings, chosen),
                           "machine": {**machine, "other_load_percent_of_core": background,
                                       "other_load_busiest": busiest},
                           "mixed": None, "soak": None, "idle": None, "logins": None, "restart": None}
    mixed_samples: figures.Samples | None = None
    pings: dict[str, list[float]] = {}
    try:
        if "mixed" in chosen:
            doc["mixed"], mixed_samples = await mixed_scenario(ctx)
            doc["soak"] = figures.soak_figures(doc["mixed"]["timeline"], mixed_samples, doc["mixed"]["duration_s"],
                                              doc["mixed"]["nodes"])
        if "idle" in chosen:
            doc["idle"], pings["before idle sockets"], pings[f"{args.idle_sockets} idle sockets held"] = \
                await idle_scenario(ctx)
        if "logins" in chosen:
            doc["logins"], pings["before logins"], pings[f"{args.logins} logins running"] = \
                await logins_scenario(ctx)
        if "restart" in chosen:
            doc["restart"] = await restart_scenario(ctx)
    finally:
        if ctx.seeded and (args.data_dir or not settings.embedded_database):
            with contextlib.suppress(Exception):
                async with unit_of_work(ctx.sessions) as session:  # cascades to their events, likes and logins
                    await session.execute(delete(User).where(User.id.in_(ctx.seeded)))
        await engine.dispose()
    doc["machine"]["load_average_end"] = machine_facts()["load_average"]
    doc["targets"] = {**figures.targets(doc), **(doc["restart"]["targets"] if doc["restart"] else {})}
    doc["problems"] = figures.problems(doc)
    doc["healthy"] = not doc["problems"]
    doc["wall_s"] = elapsed_s()
    report.write(doc, mixed_samples, pings, out)
    return doc


def _params(args: argparse.Namespace, settings: Settings, chosen: list[str]) -> dict[str, Any]:
    return {"command": "python -m bench " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["load"]
            else " ".join(sys.argv), "scenarios": chosen,
            **{k: v for k, v in vars(args).items() if k not in ("handler", "benchmark", "command")},
            "database": "embedded" if settings.embedded_database else "DATABASE_URL",
            "redis": ("cluster 3x2 (throwaway)" if args.redis_shards == 3
                      else "embedded" if settings.embedded_redis else "REDIS_URL")}


def _defaults(args: argparse.Namespace) -> None:
    if "mixed" in scenarios(args):
        args.users = args.users if args.users is not None else 2000
        args.active = args.active if args.active is not None else max(1, args.users // 10)
        args.duration = args.duration if args.duration is not None else 60.0
    if args.url and args.cpu_profile:
        raise BenchError("--cpu-profile samples the nodes this command starts: leave out --url")
    if args.url and not (os.environ.get("DATABASE_URL") and os.environ.get("JWT_SECRET")):
        raise BenchError("--url needs DATABASE_URL and JWT_SECRET: the users are seeded into the nodes' database "
                         "and their tokens signed with the nodes' secret")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """``python -m bench load``: write the report folder; 1 if the benchmark could not run."""
    import logging

    for noisy in ("alembic", "httpx", "delete_api.migrate", "delete_client"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    out = Path(args.out or Path("bench-results") / f"load-{datetime.now(UTC):%Y%m%d-%H%M%S}").absolute()
    try:
        _defaults(args)
        sockets = (max(args.users or 0, 0) * 2 + (args.idle_sockets or 0) + 2 * (args.restart_sockets or 0)
                   + 2 * WARMUP_SOCKETS + 1024)
        raise_fd_limit(sockets)
        with stage(settings, args.data_dir, "delete-bench-load-") as on, \
                redis_shards(args.redis_shards, on.resolved, on.work) as resolved:
            document = run_async(bench(args, on.settings, resolved, on.procs, on.work, out))
            say("stopping")
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    except (asyncio.CancelledError, KeyboardInterrupt):
        print("bench: stopped; every process it started was stopped", file=sys.stderr)
        return 130
    say(f"report: {out / 'report.md'}")
    print(json.dumps({"report": str(out), "healthy": document["healthy"], "problems": document["problems"],
                      "targets": {k: {"value": t["value"], "met": t["met"]} for k, t in document["targets"].items()}},
                     indent=2))
    return 0 if document["healthy"] or not args.fail_unhealthy else 3
