"""Race-freedom of likes: simultaneous mutual likes across two nodes, and concurrent likes by one user."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path

import pytest
from delete_client import ClientError, DeleteClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from delete_api.resources import random_prefix
from tests.social.support import comment, gather_limited, people, scalar, seed_likes
from tests.support.factory import Person, make_person
from tests.support.server import RunningServer, run_server
from tests.support.settings import make_settings

ROUNDS = 100
SIDE = 20  # people per node; each likes 5 people on the other node (within the 5-per-minute velocity)
PER_PERSON = ROUNDS // SIDE


@pytest.fixture(scope="module")
async def two_nodes(database_url: str, redis_url: str, tmp_root: Path) -> AsyncIterator[list[RunningServer]]:
    """Two server nodes on one database, one Redis and one key prefix."""
    prefix = random_prefix()
    async with AsyncExitStack() as stack:
        nodes = [await stack.enter_async_context(run_server(make_settings(
            database_url, redis_url, tmp_root / "media", extra={"redis_prefix": prefix}))) for _ in range(2)]
        yield nodes


async def connect(stack: AsyncExitStack, node: RunningServer, person: Person) -> DeleteClient:
    return await stack.enter_async_context(DeleteClient(node.ws_url + "/v1/ws", person.token))


def outcome(result: object) -> str:
    if isinstance(result, ClientError):
        return result.code
    if isinstance(result, BaseException):
        raise result
    return "ok"


async def test_simultaneous_mutual_likes_on_two_nodes_make_one_match(two_nodes: list[RunningServer],
                                                                     engine: AsyncEngine) -> None:
    """100 pairs like each other at the same instant from two nodes: one match row and one match.created each."""
    left = await people(engine, SIDE)
    right = await people(engine, SIDE)
    pairs = [(left[r // PER_PERSON], right[(r // PER_PERSON + r % PER_PERSON) % SIDE]) for r in range(ROUNDS)]
    async with AsyncExitStack() as stack:
        lc = {p.id: await connect(stack, two_nodes[0], p) for p in left}
        rc = {p.id: await connect(stack, two_nodes[1], p) for p in right}
        for r, (a, b) in enumerate(pairs):
            replies = await gather_limited(lc[a.id].call("like", {"user_id": b.key, "comment": comment(f"{r}a")}),
                                           rc[b.id].call("like", {"user_id": a.key, "comment": comment(f"{r}b")}))
            assert [outcome(x) for x in replies] == ["ok", "ok"], replies
            made = [x["match"]["id"] for x in replies if x["match"] is not None]
            assert len(made) == 1, replies  # exactly one of the two likes made the match
        # every person hears of each of their 5 matches exactly once
        for client, person in [*((lc[p.id], p) for p in left), *((rc[p.id], p) for p in right)]:
            events = [await client.next_event("match.created") for _ in range(PER_PERSON)]
            partners = Counter(e["data"]["match"]["user"]["user_id"] for e in events)
            assert len(partners) == PER_PERSON and set(partners.values()) == {1}, person
        await asyncio.sleep(0.3)
        for client in [*lc.values(), *rc.values()]:
            with pytest.raises(TimeoutError):
                await client.next_event("match.created", timeout=0.01)
    ids = [p.id for p in left + right]
    async with engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT count(*), count(DISTINCT (user_a, user_b)) FROM matches WHERE user_a = ANY(:ids)"
        ), {"ids": ids})).one()
        assert tuple(rows) == (ROUNDS, ROUNDS)
        created = (await conn.execute(text(
            "SELECT user_id, count(*), count(DISTINCT payload->'match'->>'id') FROM user_events "
            "WHERE type = 'match.created' AND user_id = ANY(:ids) GROUP BY user_id"), {"ids": ids})).all()
    assert len(created) == 2 * SIDE and all(n == PER_PERSON and d == PER_PERSON for _, n, d in created)


async def concurrent_likes(nodes: list[RunningServer], liker: Person, targets: list[Person]) -> Counter[str]:
    """One socket per like (commands on one socket run one after another), spread over both nodes."""
    async with AsyncExitStack() as stack:
        clients = [await connect(stack, nodes[i % 2], liker) for i in range(len(targets))]
        results = await gather_limited(*(c.call("like", {"user_id": t.key, "comment": comment(f"c{i}")})
                                         for i, (c, t) in enumerate(zip(clients, targets, strict=True))))
    return Counter(outcome(r) for r in results)


async def test_concurrent_likes_stop_exactly_at_the_daily_limit(two_nodes: list[RunningServer],
                                                                engine: AsyncEngine) -> None:
    """5 likes earlier today, then 20 at once: exactly 5 more are accepted (10 today), the rest refused."""
    liker = await make_person(engine)
    await seed_likes(engine, liker, 5, ago=timedelta(minutes=2))
    outcomes = await concurrent_likes(two_nodes, liker, await people(engine, 20, photos=0, answers={}))
    assert outcomes["ok"] == 5, outcomes
    assert set(outcomes) <= {"ok", "daily_limit_reached", "rate_limited"}
    assert await scalar(engine, "SELECT count FROM daily_like_counts WHERE user_id = :u", u=liker.id) == 10
    assert await scalar(engine, "SELECT count(*) FROM likes WHERE liker_id = :u", u=liker.id) == 10


async def test_concurrent_likes_stop_exactly_at_the_velocity_limit(two_nodes: list[RunningServer],
                                                                   engine: AsyncEngine) -> None:
    """A new user sends 10 likes at once: exactly 5 are accepted within the minute, the others rate_limited."""
    liker = await make_person(engine)
    outcomes = await concurrent_likes(two_nodes, liker, await people(engine, 10, photos=0, answers={}))
    assert outcomes == Counter({"ok": 5, "rate_limited": 5}), outcomes
    assert await scalar(engine, "SELECT count FROM daily_like_counts WHERE user_id = :u", u=liker.id) == 5


async def test_like_and_block_at_once_never_leave_a_match(two_nodes: list[RunningServer],
                                                          engine: AsyncEngine) -> None:
    """A like back racing a block from the other side: whichever wins, no open match remains between them."""
    for _ in range(10):
        a, b = await make_person(engine), await make_person(engine)
        async with AsyncExitStack() as stack:
            ca, cb = await connect(stack, two_nodes[0], a), await connect(stack, two_nodes[1], b)
            await ca.call("like", {"user_id": b.key, "comment": comment("first")})
            await gather_limited(cb.call("like", {"user_id": a.key, "comment": comment("back")}),
                                 ca.call("block", {"user_id": b.key}))
        assert await scalar(engine, "SELECT count(*) FROM matches WHERE (user_a = :a OR user_b = :a) "
                                    "AND state IN ('active', 'archived', 'dating')", a=a.id) == 0


async def test_a_like_and_a_pass_on_the_same_person_at_once_never_both_stand(two_nodes: list[RunningServer],
                                                                             engine: AsyncEngine) -> None:
    """One user's like and pass on the same person, sent at once from two devices on two nodes: exactly one
    wins (the other is refused), never a like and an active pass side by side."""
    for k in range(10):
        me, other = await make_person(engine), await make_person(engine)
        async with AsyncExitStack() as stack:
            first, second = await connect(stack, two_nodes[0], me), await connect(stack, two_nodes[1], me)
            results = await gather_limited(first.call("like", {"user_id": other.key, "comment": comment(k)}),
                                           second.call("pass", {"user_id": other.key}))
        outcomes = sorted(outcome(r) for r in results)
        assert outcomes in (["conflict", "ok"], ["not_found", "ok"]), outcomes
        likes = await scalar(engine, "SELECT count(*) FROM likes WHERE liker_id = :a", a=me.id)
        passes = await scalar(engine, "SELECT count(*) FROM passes WHERE passer_id = :a AND expires_at > now()",
                              a=me.id)
        assert likes + passes == 1, (likes, passes)


async def test_like_back_racing_an_account_deletion_never_leaves_an_open_match(two_nodes: list[RunningServer],
                                                                               engine: AsyncEngine) -> None:
    """A like back arriving while the liked account is being deleted: no open match with a deleted account."""
    for _ in range(10):
        leaving, fan = await make_person(engine), await make_person(engine)
        async with AsyncExitStack() as stack:
            cl, cf = await connect(stack, two_nodes[0], leaving), await connect(stack, two_nodes[1], fan)
            await cl.call("like", {"user_id": fan.key, "comment": comment("first")})
            await gather_limited(cf.call("like", {"user_id": leaving.key, "comment": comment("back")}),
                                 cl.call("account.delete"))
        assert await scalar(engine, "SELECT count(*) FROM matches WHERE (user_a = :a OR user_b = :a) "
                                    "AND state <> 'deleted'", a=leaving.id) == 0
