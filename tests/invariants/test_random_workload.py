"""Issue 4: a seeded random workload of 30-40 people on two nodes, then the invariants, checked in the
database and against what every socket saw. See docs/invariants.md.

``INVARIANT_SEED=<n>`` replays the choices of a run (the seed is printed at the start and in every
failure); ``INVARIANT_STEPS=<n>`` sets how many actions it plans (default 1200: 10-15 s here).
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import secrets
import time
from collections import Counter
from contextlib import AsyncExitStack
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from domain.compatibility.traits import TRAIT_KEYS
from tests.discovery.support import Place, somewhere
from tests.invariants import checks, consistency
from tests.invariants.plan import make_plan
from tests.invariants.workload import Member, Workload, drain
from tests.support.factory import make_person
from tests.support.server import RunningServer

DEFAULT_STEPS = 1200
GENDERS = ("woman", "man", "nonbinary")


def near(place: Place, rng: random.Random, km: float = 5.0) -> Place:
    """A point within about ``km`` of ``place``: everyone is well inside everyone's 50 km."""
    dlat = rng.uniform(-km, km) / 111.195
    dlon = rng.uniform(-km, km) / (111.195 * max(0.2, math.cos(math.radians(place[0]))))
    return (place[0] + dlat, place[1] + dlon)


async def make_members(engine: AsyncEngine, rng: random.Random) -> list[Member]:
    """30-40 complete profiles in a remote place of their own, all open to each other, on node A or B."""
    place = somewhere()
    count = rng.randint(30, 40)
    ages = [rng.randint(22, 45) for _ in range(count)]
    genders = [rng.choice(GENDERS) for _ in range(count)]
    places = [near(place, rng) for _ in range(count)]
    answers = [{key: rng.randint(1, 5) for key in TRAIT_KEYS} for _ in range(count)]
    nodes = [rng.randrange(2) for _ in range(count)]
    people = await asyncio.gather(*(make_person(
        engine, name=f"Inv{i}", age=ages[i], gender=genders[i], interested_in=GENDERS, age_min=18, age_max=99,
        max_distance_km=50, location=places[i], answers=answers[i]) for i in range(count)))
    return [Member(i, person, nodes[i]) for i, person in enumerate(people)]


def durable(events: list[dict[str, Any]]) -> list[checks.Event]:
    return [(e["seq"], e["type"], e["data"]) for e in events if "seq" in e]


async def test_random_workload_keeps_the_invariants(two_nodes: list[RunningServer], engine: AsyncEngine) -> None:
    """Many people acting at once on two nodes never get a forbidden match, message or card, nor lose an event."""
    seed = int(os.environ.get("INVARIANT_SEED") or secrets.randbelow(2**31))
    steps = int(os.environ.get("INVARIANT_STEPS") or DEFAULT_STEPS)
    replay = f"INVARIANT_SEED={seed} INVARIANT_STEPS={steps} .venv/bin/pytest tests/invariants -k random_workload"
    print(f"\nrandom workload: {replay}", flush=True)
    started = time.monotonic()
    rng = random.Random(seed)
    async with asyncio.timeout(60):
        members = await make_members(engine, rng)
    plan = make_plan(seed, len(members), steps)
    w = Workload(two_nodes, members)
    live: dict[str, list[checks.Event]] = {}
    replayed: dict[str, list[checks.Event]] = {}
    sync_last: dict[str, int] = {}
    async with AsyncExitStack() as stack:
        for member in members:
            socket = await w.connect(member)
            stack.push_async_callback(socket.client.close)
        await w.run(plan)
        ran = time.monotonic() - w.t0
        await w.settle(engine)
        for member in members:
            client = member.socket.client
            user = str(member.person.id)
            live[user] = durable(await drain(client))
            client.last_seq = 0  # forget what it has, so that the client keeps the whole replay
            sync_last[user] = int((await client.call("sync", {"after": 0}))["last_seq"])
            replayed[user] = durable(await drain(client))
            if client.reconnects or client.close_code is not None:
                w.problems.append(f"{w.who(member.index)}'s socket dropped (close {client.close_code}, "
                                  f"{client.reconnects} reconnects)")

    ids = [m.person.id for m in members]
    async with engine.connect() as conn:
        snap = await checks.snapshot(conn, ids)
        message_report, messages_in_flight = await checks.check_no_message_after_block(conn, ids, snap, w)
        cards = checks.check_no_forbidden_card(w)
        report = {
            "1 every match has both likes": await checks.check_matches_have_two_likes(conn, ids),
            "2 one match per pair, one match.created each": await checks.check_one_match_per_pair(
                conn, ids, snap, live),
            "3 no message or like across a block": message_report,
            "4 no card of someone blocked, passed or liked": cards.violations,
            "5 durable events as stored, none lost": checks.check_events(w, snap, live, replayed, sync_last),
            "match states told once each": consistency.check_state_events(snap),
            "database matches the accepted commands": consistency.check_records(w, snap),
            "like limits, blocks end matches": consistency.check_rules(snap),
            "replies": w.problems,
        }
    outcomes = {kind: dict(counter) for kind, counter in sorted(w.outcomes().items())}
    print(f"{len(members)} people, {len(plan)} batches, {len(w.calls)} commands in {ran:.1f}s "
          f"(test {time.monotonic() - started:.1f}s); skipped (no known match) {dict(w.skipped)}")
    print(f"outcomes: {outcomes}")
    print(f"{len(snap.matches)} matches ({dict(Counter(m.state for m in snap.matches.values()))}), "
          f"{len(snap.messages)} messages, {len(snap.blocks)} blocks, {cards.checked} cards checked ({cards.fills} "
          f"live fills, {cards.in_flight} in flight when a block/pass/like committed, {cards.strangers} of strangers), "
          f"{messages_in_flight} messages stored after a block's start but before it committed, "
          f"{sum(len(e) for e in snap.events.values())} durable events")
    failed = {name: found for name, found in report.items() if found}
    lines = [f"{name}: {len(found)} violation(s)\n    " + "\n    ".join(found[:25]) for name, found in failed.items()]
    assert not failed, f"seed {seed}; reproduce with: {replay}\n" + "\n".join(lines)
