"""The server's own CPU per socket command, one command kind at a time: ``python -m bench commandcpu``.

The load benchmark's CPU per command is a mix over two nodes, and its spread between runs of the same code
(about ±10 % on the 2-core machine) hides a change to one command. This benchmark starts the real app in this
process (uvicorn on uvloop, the node's collector policy, the embedded PostgreSQL and Redis in a temporary
directory, or ``DATABASE_URL``/``REDIS_URL``) and drives it from a client in another process
(``bench.commandcpu_client``), so the CPU measured (this process's ``process_time``) is the server's alone. Each
round runs every command kind ``--calls`` times, one call every ``PACE_S`` (as an active user would, under the
per-socket rate limit), and an idle stretch of as many pauses: the idle stretch's CPU (timers, the presence
refresh, the word list's check) is subtracted, so a figure is what one call costs. It prints, per command kind,
the median over ``--rounds`` rounds and every round's figure, in ms of CPU per call; ``--rounds 3`` or more and
alternate runs of two versions to compare them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.commandcpu_client import KINDS, PACE_S

CLIENT = "bench.commandcpu_client"
PEOPLE = 250  # B's discovery socket sees the other 249: enough for 20 batches of 10 per stretch


async def _world(database_url: str) -> dict[str, Any]:
    """Two matched people who talk (A passes on the others, B is shown them as cards)."""
    from bench.roundtrips import _person
    from delete_api.database import make_engine, make_sessionmaker

    engine = make_engine(database_url, pool_size=2)
    try:
        sessions = make_sessionmaker(engine)
        people = [await _person(sessions, k) for k in range(PEOPLE)]
        match_id = uuid.uuid4()
        async with sessions.begin() as s:
            low, high = sorted((people[0][0], people[1][0]))
            await s.execute(text("INSERT INTO matches (id, user_a, user_b) VALUES (:i, :a, :b)"),
                            {"i": match_id, "a": low, "b": high})
    finally:
        await engine.dispose()
    return {"a": people[0][1], "b": people[1][1], "match": str(match_id), "others": [str(p[0]) for p in people[2:]]}


async def _measure(database_url: str, redis_url: str, media: Path, calls: int, rounds: int) -> dict[str, Any]:
    from bench.roundtrips import _app
    from delete_api.collector import Collector

    world = await _world(database_url)
    async with _app(database_url, redis_url, media) as url:
        collector = Collector()  # as a node runs it: young collections rare, full ones on a schedule
        collector.start()
        try:
            return await _drive({**world, "url": url}, calls, rounds)
        finally:
            await collector.stop()


async def _drive(world: dict[str, Any], calls: int, rounds: int) -> dict[str, Any]:
    client = await asyncio.create_subprocess_exec(
        sys.executable, "-m", CLIENT, json.dumps(world), str(calls), str(rounds),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    assert client.stdin is not None and client.stdout is not None  # both were asked for
    per_round: dict[str, list[float]] = {}
    started = 0.0
    while line := (await client.stdout.readline()).decode().split():
        if line[0] == "start":
            started = time.process_time()
        else:  # "end KIND": the stretch's CPU per call
            per_round.setdefault(line[1], []).append((time.process_time() - started) * 1000 / calls)
            print(f"[commandcpu] {line[1]}: {per_round[line[1]][-1]:.3f} ms per call (idle included)",
                  file=sys.stderr, flush=True)
        client.stdin.write(b"\n")  # the client waits for this before it goes on
        await client.stdin.drain()
    if await client.wait() != 0:
        raise RuntimeError(f"the client process failed (exit {client.returncode})")
    return _figures(per_round, calls, rounds)


def _figures(per_round: dict[str, list[float]], calls: int, rounds: int) -> dict[str, Any]:
    idle = per_round.pop("idle")
    commands = {}
    for kind, figures in per_round.items():
        net = [max(0.0, figure - idle[k]) for k, figure in enumerate(figures)]
        commands[kind] = {"server_cpu_ms": round(statistics.median(net), 3), "rounds": [round(v, 3) for v in net]}
    return {"calls_per_round": calls, "rounds": rounds, "pace_s": PACE_S,
            "idle_cpu_ms_per_pause": [round(v, 3) for v in idle], "commands": commands}


def run(args: argparse.Namespace) -> int:
    """``python -m bench commandcpu``: print the JSON document."""
    from bench.roundtrips import run_probe

    results = run_probe(lambda db, redis, media: _measure(db, redis, media, args.calls, args.rounds))
    missing = [kind for kind in KINDS if kind not in results["commands"]]
    json.dump(results, sys.stdout, indent=1)
    print()
    if missing:
        print(f"commandcpu: no figure for {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0
