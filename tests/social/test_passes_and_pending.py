"""CONTRACT section 3 "Passes" and `likes.pending` through the real socket."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.social.support import COMMENT, comment, error_code, execute, no_event, online, scalar
from tests.support.factory import make_match, make_person
from tests.support.server import RunningServer


def parse(moment: str) -> datetime:
    assert moment.endswith("Z")
    return datetime.fromisoformat(moment)


async def test_pass_lasts_30_days_and_passing_again_refreshes(server: RunningServer, engine: AsyncEngine) -> None:
    """pass replies expires_at 30 days out; passing again moves it later."""
    me, other = await make_person(engine), await make_person(engine)
    async with online(server, me) as (c,):
        first = parse((await c.call("pass", {"user_id": other.key}))["expires_at"])
        assert abs(first - (datetime.now(UTC) + timedelta(days=30))) < timedelta(seconds=30)
        second = parse((await c.call("pass", {"user_id": other.key}))["expires_at"])
        assert second > first
    assert await scalar(engine, "SELECT count(*) FROM passes WHERE passer_id = :u", u=me.id) == 1


async def test_pass_needs_someone_to_pass(server: RunningServer, engine: AsyncEngine) -> None:
    """Passing nobody, oneself or a deleted account is not_found; passing someone one liked is conflict."""
    me, liked = await make_person(engine), await make_person(engine)
    gone = await make_person(engine, status="deleted")
    async with online(server, me) as (c,):
        for user_id in (str(uuid.uuid4()), me.key, gone.key):
            assert (await error_code(c, "pass", {"user_id": user_id})).code == "not_found"
        await c.call("like", {"user_id": liked.key, "comment": COMMENT})
        assert (await error_code(c, "pass", {"user_id": liked.key})).code == "conflict"
    assert await scalar(engine, "SELECT count(*) FROM passes WHERE passer_id = :u", u=me.id) == 0


async def test_pass_on_someone_blocked_either_way_is_not_found_and_writes_nothing(server: RunningServer,
                                                                                  engine: AsyncEngine) -> None:
    """A block, mine or theirs, hides the person: passing on them is not_found and leaves no pass behind."""
    me, blocked, blocker = await make_person(engine), await make_person(engine), await make_person(engine)
    async with online(server, me, blocker) as (c, theirs):
        await c.call("block", {"user_id": blocked.key})
        await theirs.call("block", {"user_id": me.key})
        for person in (blocked, blocker):
            assert (await error_code(c, "pass", {"user_id": person.key})).code == "not_found"
    assert await scalar(engine, "SELECT count(*) FROM passes WHERE passer_id = :u", u=me.id) == 0


async def test_pass_blocks_my_like_until_undone(server: RunningServer, engine: AsyncEngine) -> None:
    """While my pass is active my like is not_found; after pass.undo it goes through."""
    me, other = await make_person(engine), await make_person(engine)
    async with online(server, me) as (c,):
        await c.call("pass", {"user_id": other.key})
        assert (await error_code(c, "like", {"user_id": other.key, "comment": COMMENT})).code == "not_found"
        assert await c.call("pass.undo", {"user_id": other.key}) == {}
        assert (await c.call("like", {"user_id": other.key, "comment": COMMENT}))["match"] is None


async def test_pass_undo_once_per_7_days(server: RunningServer, engine: AsyncEngine) -> None:
    """A second pass.undo within 7 days is rate_limited (about 7 days to wait) and keeps the pass."""
    me, first, second = await make_person(engine), await make_person(engine), await make_person(engine)
    async with online(server, me) as (c,):
        await c.call("pass", {"user_id": first.key})
        await c.call("pass", {"user_id": second.key})
        await c.call("pass.undo", {"user_id": first.key})
        err = await error_code(c, "pass.undo", {"user_id": second.key})
        assert err.code == "rate_limited" and err.details
        assert 7 * 86400 - 60 <= err.details["retry_after_s"] <= 7 * 86400
        assert await scalar(engine, "SELECT count(*) FROM passes WHERE passer_id = :u AND passee_id = :p",
                            u=me.id, p=second.id) == 1
        await execute(engine, "UPDATE users SET last_pass_undo_at = now() - interval '7 days 1 minute' "
                              "WHERE id = :u", u=me.id)
        assert await c.call("pass.undo", {"user_id": second.key}) == {}


async def test_pass_undo_without_active_pass_is_not_found(server: RunningServer, engine: AsyncEngine) -> None:
    """Undoing a pass that does not exist or has expired is not_found and does not use up the weekly undo."""
    me, other = await make_person(engine), await make_person(engine)
    await execute(engine, "INSERT INTO passes (passer_id, passee_id, created_at, expires_at) "
                          "VALUES (:a, :b, now() - interval '40 days', now() - interval '10 days')",
                  a=me.id, b=other.id)
    async with online(server, me) as (c,):
        assert (await error_code(c, "pass.undo", {"user_id": other.key})).code == "not_found"
        assert (await error_code(c, "pass.undo", {"user_id": str(uuid.uuid4())})).code == "not_found"
    assert await scalar(engine, "SELECT last_pass_undo_at FROM users WHERE id = :u", u=me.id) is None


async def test_like_from_someone_i_passed_is_kept_silently(server: RunningServer, engine: AsyncEngine) -> None:
    """B's like on A while A's pass on B is active: stored, no match, no like.received, not in A's pending."""
    a_person, b_person = await make_person(engine), await make_person(engine)
    async with online(server, a_person, b_person) as (a, b):
        await a.call("pass", {"user_id": b_person.key})
        reply = await b.call("like", {"user_id": a_person.key, "comment": COMMENT})
        assert reply["match"] is None
        await no_event(a, "like.received")
        assert (await a.call("likes.pending"))["likes"] == []
        # A takes the pass back: the like shows up, and A's like back makes the match then
        await a.call("pass.undo", {"user_id": b_person.key})
        pending = (await a.call("likes.pending"))["likes"]
        assert [p["like_id"] for p in pending] == [reply["like_id"]]
        made = await a.call("like", {"user_id": b_person.key, "comment": comment("back")})
        assert made["match"] is not None
        assert (await b.next_event("match.created"))["data"]["match"]["id"] == made["match"]["id"]


async def test_pending_lists_waiting_likes_newest_first(server: RunningServer, engine: AsyncEngine) -> None:
    """likes.pending lists who liked me, newest first, with card, comment and time."""
    me = await make_person(engine)
    fans = [await make_person(engine, name=f"Fan{i}") for i in range(3)]
    async with online(server, *fans) as clients:
        ids = []
        for i, client in enumerate(clients):
            ids.append((await client.call("like", {"user_id": me.key, "comment": comment(i)}))["like_id"])
    async with online(server, me) as (c,):
        likes = (await c.call("likes.pending"))["likes"]
    assert [item["like_id"] for item in likes] == ids[::-1]
    assert set(likes[0]) == {"like_id", "from", "comment", "created_at"}
    assert likes[0]["from"]["display_name"] == "Fan2" and likes[0]["comment"] == comment(2)
    assert likes[0]["created_at"].endswith("Z")


async def test_pending_leaves_out_matched_blocked_and_inactive(server: RunningServer, engine: AsyncEngine) -> None:
    """Matched pairs, blocks either way and suspended, banned or deleted likers are not pending."""
    me = await make_person(engine)
    fans = [await make_person(engine) for _ in range(6)]
    async with online(server, *fans) as clients:
        for i, client in enumerate(clients):
            await client.call("like", {"user_id": me.key, "comment": comment(i)})
    matched, blocked_by_me, blocked_me, suspended, banned, kept = fans
    await execute(engine, "INSERT INTO matches (id, user_a, user_b) VALUES (:id, :a, :b)",
                  id=uuid.uuid4(), a=min(me.id, matched.id), b=max(me.id, matched.id))
    await execute(engine, "INSERT INTO blocks (blocker_id, blocked_id) VALUES (:a, :b), (:c, :d)",
                  a=me.id, b=blocked_by_me.id, c=blocked_me.id, d=me.id)
    await execute(engine, "UPDATE users SET status = 'suspended', suspended_until = now() + interval '1 day' "
                          "WHERE id = :u", u=suspended.id)
    await execute(engine, "UPDATE users SET status = 'banned' WHERE id = :u", u=banned.id)
    async with online(server, me) as (c,):
        likes = (await c.call("likes.pending"))["likes"]
    assert [item["from"]["user_id"] for item in likes] == [kept.key]


async def test_pending_reads_the_clock_an_ended_suspension_or_pass_hides_nobody(server: RunningServer,
                                                                                engine: AsyncEngine) -> None:
    """A liker whose suspension has ended, and one whom my pass no longer covers (it expired), wait again."""
    me = await make_person(engine)
    fans = [await make_person(engine) for _ in range(2)]
    async with online(server, *fans) as clients:
        for i, client in enumerate(clients):
            await client.call("like", {"user_id": me.key, "comment": comment(i)})
    was_suspended, was_passed = fans
    await execute(engine, "UPDATE users SET status = 'suspended', suspended_until = now() - interval '1 minute' "
                          "WHERE id = :u", u=was_suspended.id)
    await execute(engine, "INSERT INTO passes (passer_id, passee_id, created_at, expires_at) "
                          "VALUES (:a, :b, now() - interval '31 days', now() - interval '1 minute')",
                  a=me.id, b=was_passed.id)
    async with online(server, me) as (c,):
        likes = (await c.call("likes.pending"))["likes"]
    assert {item["from"]["user_id"] for item in likes} == {was_suspended.key, was_passed.key}


async def test_a_like_back_from_pending_always_works(server: RunningServer, engine: AsyncEngine) -> None:
    """Preferences do not matter for a like back: someone outside mine can still be liked from pending."""
    me = await make_person(engine, gender="woman", interested_in=("woman",), age_max=25)
    fan = await make_person(engine, gender="man", age=70, location=(-33.9, 151.2))
    async with online(server, fan, me) as (f, c):
        await f.call("like", {"user_id": me.key, "comment": COMMENT})
        pending = (await c.call("likes.pending"))["likes"]
        assert (await c.call("like", {"user_id": pending[0]["from"]["user_id"], "comment": comment(1)}))["match"]
    async with online(server, me) as (c,):
        assert (await c.call("likes.pending"))["likes"] == []


async def test_matched_people_are_not_pending(server: RunningServer, engine: AsyncEngine) -> None:
    """A pair that matched (whatever the state now) is never pending."""
    me, other = await make_person(engine), await make_person(engine)
    await make_match(engine, me, other, state="unmatched")
    async with online(server, me) as (c,):
        assert (await c.call("likes.pending"))["likes"] == []
