"""Issue 7, item 5: a seeded random workload under Redis SIGKILL, a node SIGKILL + restart and a PostgreSQL stop.

Two independent workloads run at once on two nodes while the three faults strike in a random order:

- **likes** among people who never pass or block each other (some mutual pairs like each other at the
  same instant from different nodes): afterwards every pair with likes both ways has exactly one match
  row and every other pair none;
- **blocks + messages + discovery**: matched pairs chat, everyone asks for discovery cards, hidden people
  become discoverable mid-run (live fills of open credits), and blocks land at random times: no message
  row is created after a block between its two people, no send first tried after it succeeds, and no
  ``discovery.card`` of the other person arrives after it.

Then every committed durable event must have been delivered or be recoverable: each client's events after
its own resume equal the database, and a fresh ``sync {after: 0}`` equals the database too.

``FAULT_SEED=<n>`` replays a run (the seed is printed, and named in every failure).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from functools import partial
from itertools import combinations
from typing import Any

from delete_client import ClientError, Closed
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.faults.support import (
    Chatter,
    Infra,
    Recorder,
    Sent,
    diff,
    member,
    ms,
    replay_from_zero,
    restore,
    seed_from_env,
    stored_events,
    wait_health,
)
from tests.support.factory import Person, make_match
from tests.support.nodes import Nodes

A, B = 0, 1
LIKERS = 8
VIEWER_PAIRS = 3
HIDDEN = 4
CALL_TIMEOUT_S = 5.0
FILL_GRACE_S = 1.0  # a live fill computed just before a block commits may still land this soon after its ack
BERLIN = {"lat": 52.52, "lon": 13.405}


@dataclass
class Fault:
    kind: str
    began: float  # seconds into the run
    down_s: float = 0.0
    healthy_after_s: float = 0.0  # from the end of the fault until both nodes answer 200


@dataclass
class Block:
    blocker: str
    blocked: str
    at: float  # planned, seconds into the run
    acked: float = 0.0  # monotonic time of the ok reply
    acked_wall: float = 0.0  # wall-clock time of the ok reply (compared with message created_at)


@dataclass
class Window:
    """A ``discovery.request`` in flight on one client: cards stamped inside it came with it."""

    sent: float
    replied: float


@dataclass
class Run:
    """Everything the workload did, for the checks."""

    seed: int
    rng: random.Random
    t0: float = field(default_factory=time.monotonic)
    people: dict[str, Person] = field(default_factory=dict)
    clients: dict[str, Recorder] = field(default_factory=dict)
    likes: dict[tuple[str, str], str] = field(default_factory=dict)  # (liker, likee) -> outcome
    like_matches: dict[frozenset[str], set[str]] = field(default_factory=dict)  # match ids seen in like replies
    matches: dict[frozenset[str], uuid.UUID] = field(default_factory=dict)  # the seeded chat matches
    chatters: dict[str, Chatter] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)
    windows: dict[str, list[Window]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def now(self) -> float:
        return time.monotonic() - self.t0

    async def until(self, offset_s: float) -> None:
        await asyncio.sleep(max(0.0, offset_s - self.now()))

    def rng_for(self, task: str) -> random.Random:
        """A task's own generator: what tasks draw at run time never shifts the seeded plans."""
        return random.Random(f"{self.seed}/{task}")

    def blocked(self, a: str, b: str) -> Block | None:
        return next((k for k in self.blocks if k.acked and {k.blocker, k.blocked} == {a, b}), None)


async def retrying(run: Run, call: Callable[[], Awaitable[dict[str, Any]]], *, until_s: float = 40.0,
                   done_codes: frozenset[str] = frozenset()) -> tuple[str, dict[str, Any]]:
    """Run a command until it is answered for good: ('ok', data) or (error code in ``done_codes``, {}).

    No reply (socket dropped, timeout) and ``internal`` (a dependency down) are tried again.
    """
    while True:
        try:
            return "ok", await call()
        except ClientError as exc:
            if exc.code in done_codes:
                return exc.code, {}
            if exc.code == "rate_limited":
                await asyncio.sleep(float(exc.details.get("retry_after_s", 0.2)))
                continue
            if exc.code != "internal":
                raise AssertionError(f"seed {run.seed}: unexpected error {exc.code}: {exc.message}") from None
        except (Closed, TimeoutError):
            pass
        if run.now() > until_s:
            raise AssertionError(f"seed {run.seed}: a command never got through")
        await asyncio.sleep(0.2)


# -- the likes workload -----------------------------------------------------------------------------

def plan_likes(run: Run, names: list[str]) -> list[tuple[float, str, str]]:
    """(offset, liker, likee): mutual pairs (some at the same instant), one-way likes, at most 5 per liker."""
    rng, plan, given = run.rng, [], dict.fromkeys(names, 0)
    for a, b in rng.sample(list(combinations(names, 2)), k=len(names) * 2):
        kind = rng.choice(["mutual", "race", "one-way", "none"])
        if kind == "none" or given[a] >= 5 or (kind != "one-way" and given[b] >= 5):
            continue
        at = rng.uniform(0.5, 12.0)
        plan.append((at, a, b))
        given[a] += 1
        if kind != "one-way":
            plan.append((at if kind == "race" else rng.uniform(0.5, 12.0), b, a))
            given[b] += 1
    return plan


async def like(run: Run, at: float, liker: str, likee: str, n: int) -> None:
    await run.until(at)
    client, target = run.clients[liker], str(run.people[likee].id)
    comment = f"Like number {n}, {liker} says hi to {likee}"
    outcome, data = await retrying(run, lambda: client.call("like", {"user_id": target, "comment": comment},
                                                            timeout=CALL_TIMEOUT_S),
                                   done_codes=frozenset({"conflict"}))  # a retry of a like that was stored
    run.likes[(liker, likee)] = outcome
    if data.get("match"):
        run.like_matches.setdefault(frozenset((liker, likee)), set()).add(str(data["match"]["id"]))


# -- the blocks + messages + discovery workload -------------------------------------------------------------

async def chat(run: Run, name: str) -> None:
    """Send to the match partner until stopped or blocked; unanswered or `internal` sends are retried as is."""
    chatter, rng = run.chatters[name], run.rng_for(name)
    n = 0
    while not run.stop.is_set():
        item = Sent(f"{name}-{n}", f"message {n} from {name}", time.monotonic())
        chatter.sent.append(item)
        n += 1
        while True:
            await chatter.send(item, deadline_s=30.0)
            if item.error != "internal" or run.stop.is_set():
                break
            await asyncio.sleep(0.2)
        if item.error == "conflict":
            return  # blocked: the match is over
        await asyncio.sleep(rng.uniform(0.1, 0.3))


async def discover(run: Run, name: str, start_at: float = 0.0) -> None:
    """Ask for cards now and then (keeping credits open), and change the bio now and then (live fills)."""
    await run.until(start_at)
    client, rng = run.clients[name], run.rng_for(f"discover/{name}")
    windows = run.windows.setdefault(name, [])
    n = 0
    while not run.stop.is_set():
        sent = time.monotonic()
        try:
            if n % 3 == 2:
                await client.call("me.update", {"bio": f"bio {n} of {name}"}, timeout=CALL_TIMEOUT_S)
            else:
                try:
                    await client.call("discovery.request", {"count": 20}, timeout=CALL_TIMEOUT_S)
                finally:
                    windows.append(Window(sent, time.monotonic()))
        except (ClientError, Closed, TimeoutError):
            pass  # a fault; the next round asks again
        n += 1
        # not too often: a person who appears in between reaches open credits by a live fill
        await asyncio.sleep(rng.uniform(0.8, 1.6))


async def appear(run: Run, name: str, at: float) -> None:
    """A hidden person sets a location and becomes discoverable (open credits elsewhere fill live)."""
    await run.until(at)
    client = run.clients[name]
    await retrying(run, lambda: client.call("me.update", {"location": BERLIN}, timeout=CALL_TIMEOUT_S))
    await discover(run, name)


async def block(run: Run, item: Block) -> None:
    await run.until(item.at)
    client, target = run.clients[item.blocker], str(run.people[item.blocked].id)
    await retrying(run, lambda: client.call("block", {"user_id": target}, timeout=CALL_TIMEOUT_S))  # idempotent
    item.acked, item.acked_wall = time.monotonic(), time.time()


# -- the faults ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FaultPlan:
    kind: str  # redis, node A, node B, postgres
    down_s: float
    pause_s: float  # after recovery, before the next fault


def plan_faults(run: Run) -> list[FaultPlan]:
    """The three faults in a random order: Redis SIGKILL 2-3 s, a node SIGKILL 1-2 s + restart, PostgreSQL 1.5-2.5 s."""
    rng = run.rng
    kinds = ["redis", f"node {rng.choice('AB')}", "postgres"]
    rng.shuffle(kinds)
    down = {"redis": (2.0, 3.0), "node": (1.0, 2.0), "postgres": (1.5, 2.5)}
    return [FaultPlan(k, rng.uniform(*down[k.split()[0]]), rng.uniform(1.0, 2.0)) for k in kinds]


async def faults(run: Run, plan: list[FaultPlan], infra: Infra, cluster: Nodes) -> None:
    await run.until(1.5)
    for step in plan:
        fault = Fault(step.kind, run.now())
        if step.kind == "redis":
            infra.kill_redis()
            await asyncio.sleep(step.down_s)
            await asyncio.to_thread(infra.start_redis)
        elif step.kind.startswith("node"):
            index = "AB".index(step.kind[-1])
            cluster.kill(index)
            await asyncio.sleep(step.down_s)
            await cluster.restart(index)
        else:
            await asyncio.to_thread(infra.stop_postgres)
            await asyncio.sleep(step.down_s)
            await asyncio.to_thread(infra.start_postgres)
        fault.down_s = run.now() - fault.began
        back = run.now()
        for node in cluster.nodes:
            status, _ = await wait_health(node.base_url, 200, within_s=15)
            assert status == 200, f"seed {run.seed}: node {node.index} unhealthy after {step.kind}"
        fault.healthy_after_s = run.now() - back
        run.faults.append(fault)
        await asyncio.sleep(step.pause_s)


# -- the test -------------------------------------------------------------------------------------------------

async def people(run: Run, engine: AsyncEngine) -> tuple[list[str], list[str], list[str]]:
    likers = [f"l{i}" for i in range(LIKERS)]
    viewers = [f"k{i}" for i in range(2 * VIEWER_PAIRS)]
    hidden = [f"h{i}" for i in range(HIDDEN)]
    for name in likers + viewers:
        run.people[name] = await member(engine, name)
    for name in hidden:
        run.people[name] = await member(engine, name, location=None)
    for i in range(VIEWER_PAIRS):
        a, b = viewers[2 * i], viewers[2 * i + 1]
        run.matches[frozenset((a, b))] = await make_match(engine, run.people[a], run.people[b])
    return likers, viewers, hidden


def plan_blocks(run: Run, viewers: list[str], hidden: list[str]) -> list[Block]:
    """A matched pair, two viewer/hidden pairs and an unmatched viewer pair, at random times and directions."""
    rng = run.rng
    matched = [tuple(sorted(m)) for m in run.matches]
    unmatched = [(a, b) for a, b in combinations(viewers, 2) if frozenset((a, b)) not in run.matches]
    pairs = [rng.choice(matched), *rng.sample([(v, h) for v in viewers for h in hidden], 2), rng.choice(unmatched)]
    blocks = []
    for a, b in pairs:
        blocker, blocked = (a, b) if rng.random() < 0.5 else (b, a)
        blocks.append(Block(blocker, blocked, rng.uniform(1.0, 11.0)))
    return blocks


async def test_random_workload_under_faults_keeps_every_invariant(
        infra: Infra, cluster: Nodes, fault_engine: AsyncEngine) -> None:
    """Random likes, chats, blocks and discovery under three faults: one match per mutual pair, blocks hold, no loss."""
    seed = seed_from_env("FAULT_SEED")
    print(f"\nFAULT_SEED={seed}")
    run = Run(seed, random.Random(seed))
    likers, viewers, hidden = await people(run, fault_engine)
    urls = [cluster[A].ws_url, cluster[B].ws_url]
    async with AsyncExitStack() as stack:
        for i, (name, person) in enumerate(run.people.items()):
            own = urls if i % 2 == 0 else urls[::-1]
            run.clients[name] = await stack.enter_async_context(Recorder(own, person.token))
        for pair, match_id in run.matches.items():
            for name in pair:
                run.chatters[name] = Chatter(run.clients[name], match_id, name)
        run.blocks = plan_blocks(run, viewers, hidden)
        fault_plan = plan_faults(run)
        run.t0 = time.monotonic()
        tasks = [asyncio.create_task(like(run, at, a, b, n)) for n, (at, a, b) in enumerate(plan_likes(run, likers))]
        tasks += [asyncio.create_task(chat(run, name)) for name in run.chatters]
        tasks += [asyncio.create_task(discover(run, name, run.rng.uniform(0, 1))) for name in viewers]
        tasks += [asyncio.create_task(appear(run, name, run.rng.uniform(2.0, 12.0))) for name in hidden]
        tasks += [asyncio.create_task(block(run, item)) for item in run.blocks]
        try:
            await faults(run, fault_plan, infra, cluster)
            await asyncio.sleep(1.0)
        finally:
            run.stop.set()
            async with asyncio.timeout(45):
                outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        await restore(infra, cluster)

        checked = await check_events(run, fault_engine, cluster)
        matches = await check_likes(run, fault_engine, likers)
        cards, fills, before = check_cards(run)
        messages = await check_messages(run, fault_engine)
        refused = sum(1 for c in run.chatters.values() for x in c.sent if x.error == "conflict")

    print(f"FAULT_SEED={seed}: faults " + ", ".join(
        f"{f.kind} at {f.began:.1f}s for {f.down_s:.1f}s (healthy {ms(f.healthy_after_s)} later)" for f in run.faults)
        + f"; {len(run.likes)} likes, {matches} matches (one per mutual pair); {messages} messages, "
          f"{len(run.blocks)} blocks ({refused} sends refused after one), {cards} cards ({fills} live fills, "
          f"{before} of a pair before its block) checked against them; {checked} durable events checked on "
          f"{len(run.clients)} clients, lost 0; reconnects {sum(c.reconnects for c in run.clients.values())}")


# -- the checks -------------------------------------------------------------------------------------------------

async def check_events(run: Run, engine: AsyncEngine, cluster: Nodes) -> int:
    """Each client, after its own resume, has exactly the database's events; so does a fresh sync {after: 0}."""
    checked = 0
    for i, (name, client) in enumerate(run.clients.items()):
        await retrying(run, partial(client.call, "ping", timeout=CALL_TIMEOUT_S), until_s=run.now() + 20)
        await client.catch_up()
        stored = await stored_events(engine, run.people[name].id)
        assert not diff(client.durable, stored), f"seed {run.seed}: {name}: {diff(client.durable, stored)}"
        assert client.arrivals == sorted(client.arrivals), f"seed {run.seed}: {name}: events out of order"
        fresh = await replay_from_zero(cluster[i % 2].ws_url, run.people[name].token)
        assert fresh == stored, f"seed {run.seed}: {name}: sync after 0 differs: {diff(fresh, stored)}"
        checked += len(stored)
    return checked


async def check_likes(run: Run, engine: AsyncEngine, likers: list[str]) -> int:
    """Every pair with likes both ways has exactly one match, every other pair none; one match.created each."""
    by_id = {str(run.people[n].id): n for n in likers}
    async with engine.connect() as conn:
        likes = {(by_id[str(a)], by_id[str(b)]) for a, b in (await conn.execute(
            text("SELECT liker_id, likee_id FROM likes WHERE liker_id = ANY(:ids)"),
            {"ids": [run.people[n].id for n in likers]})).all()}
        rows = (await conn.execute(text("SELECT id, user_a, user_b FROM matches WHERE user_a = ANY(:ids) "
                                        "OR user_b = ANY(:ids)"), {"ids": [run.people[n].id for n in likers]})).all()
    assert likes == set(run.likes), f"seed {run.seed}: stored likes differ from the acknowledged ones"
    matches: dict[frozenset[str], list[str]] = {}
    for match_id, a, b in rows:
        matches.setdefault(frozenset((by_id[str(a)], by_id[str(b)])), []).append(str(match_id))
    for a, b in combinations(likers, 2):
        pair = frozenset((a, b))
        mutual = (a, b) in likes and (b, a) in likes
        assert len(matches.get(pair, [])) == (1 if mutual else 0), \
            f"seed {run.seed}: {a}/{b} mutual={mutual} has matches {matches.get(pair)}"
        if mutual:
            assert run.like_matches.get(pair, set()) <= set(matches[pair]), f"seed {run.seed}: {a}/{b}"
            for name in pair:
                created = [e for e in run.clients[name].durable.values() if e[0] == "match.created"
                           and json.loads(e[1])["match"]["id"] == matches[pair][0]]
                assert len(created) == 1, f"seed {run.seed}: {name} got {len(created)} match.created for {a}/{b}"
    return sum(len(m) for m in matches.values())


def check_cards(run: Run) -> tuple[int, int, int]:
    """No ``discovery.card`` of the other person after a block's ack, unless asked for before it.

    Returns (cards received, of them live fills, cards of a later-blocked person received before the block).
    """
    cards = fills = before = 0
    for name, client in run.clients.items():
        for at, event in client.ephemeral:
            if event.get("type") == "discovery.card":
                cards += 1
                fills += not any(w.sent <= at <= w.replied for w in run.windows.get(name, []))
    for item in run.blocks:
        assert item.acked, f"seed {run.seed}: block {item.blocker}->{item.blocked} never acknowledged"
        for viewer, other in ((item.blocker, item.blocked), (item.blocked, item.blocker)):
            before += check_cards_after_block(run, item.acked, viewer, other)
    return cards, fills, before


def check_cards_after_block(run: Run, acked: float, viewer: str, other: str) -> int:
    """No card of ``other`` reached ``viewer`` after the block's ack at ``acked``, unless asked for before it
    (or a live fill in flight); return how many of ``other``'s cards ``viewer`` got before the ack."""
    other_id = str(run.people[other].id)
    before = 0
    for at, event in run.clients[viewer].ephemeral:
        if event.get("type") != "discovery.card" or event["data"]["card"]["user_id"] != other_id:
            continue
        if at <= acked:
            before += 1
            continue
        window = next((w for w in run.windows.get(viewer, []) if w.sent <= at <= w.replied), None)
        late = at - acked
        if window is not None:
            assert window.sent <= acked, \
                f"seed {run.seed}: {viewer} got {other}'s card from a request sent {late:.2f}s after the block"
        else:
            assert late <= FILL_GRACE_S, \
                f"seed {run.seed}: {viewer} got {other}'s card (live fill) {late:.2f}s after the block"
    return before


async def check_messages(run: Run, engine: AsyncEngine) -> int:
    """No message row after a block between its two members, and no send first tried after it succeeded."""
    total = 0
    for pair, match_id in run.matches.items():
        a, b = sorted(pair)
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT client_msg_id, extract(epoch FROM created_at) FROM messages "
                                            "WHERE match_id = :m"), {"m": match_id})).all()
        total += len(rows)
        sent = run.chatters[a].sent + run.chatters[b].sent
        assert len(rows) == len({s.client_msg_id for s in sent if s.ok}), f"seed {run.seed}: {a}/{b} rows"
        blocked = run.blocked(a, b)
        if blocked is None:
            continue
        late_rows = [r[0] for r in rows if float(r[1]) > blocked.acked_wall]
        assert not late_rows, f"seed {run.seed}: messages {late_rows} stored after {a}/{b} were blocked"
        late_ok = [s.client_msg_id for s in sent if s.ok and s.sent_at > blocked.acked]
        assert not late_ok, f"seed {run.seed}: sends {late_ok} first tried after the block succeeded"
    return total
