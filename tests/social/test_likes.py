"""CONTRACT section 3 "Likes" through the real socket: each check, their order, and no trace after a refusal."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.wire.events import LikeReceived, MatchCreated
from tests.social.support import (
    COMMENT,
    comment,
    error_code,
    execute,
    no_event,
    online,
    scalar,
    seed_likes,
    set_daily_count,
    trace,
)
from tests.support.factory import Person, make_person
from tests.support.server import RunningServer
from tests.support.shapes import closed_match


async def veteran(engine: AsyncEngine, **kwargs: object) -> Person:
    """Someone whose first five likes (with comments) are behind them, made well outside the velocity window."""
    person = await make_person(engine, **kwargs)  # type: ignore[arg-type]
    await seed_likes(engine, person, 5, ago=timedelta(hours=1), count_today=False)
    return person


async def test_like_reply_and_like_received(server: RunningServer, engine: AsyncEngine) -> None:
    """A like replies with like_id, no match and 9 likes left; the other person gets like.received with a card."""
    alice = await make_person(engine, name="Alice")
    bob = await make_person(engine, name="Bob")
    async with online(server, alice, bob) as (a, b):
        reply = await a.call("like", {"user_id": bob.key, "comment": COMMENT})
        assert set(reply) == {"like_id", "match", "likes_left_today"}
        assert reply["match"] is None and reply["likes_left_today"] == 9
        uuid.UUID(reply["like_id"])
        event = await b.next_event("like.received")
        assert "seq" in event
        closed_match(LikeReceived, event["data"])
        assert event["data"]["like_id"] == reply["like_id"]
        assert event["data"]["comment"] == COMMENT
        card = event["data"]["from"]
        assert card["user_id"] == alice.key and card["display_name"] == "Alice"
        assert "email" not in card and "birthdate" not in card


async def test_mutual_like_makes_a_match_for_both(server: RunningServer, engine: AsyncEngine) -> None:
    """A like back makes the match: the reply carries it and both get match.created with the other's card."""
    alice = await make_person(engine, name="Alice")
    bob = await make_person(engine, name="Bob")
    async with online(server, alice, bob) as (a, b):
        await a.call("like", {"user_id": bob.key, "comment": COMMENT})
        reply = await b.call("like", {"user_id": alice.key, "comment": comment("back")})
        match = reply["match"]
        assert match["state"] == "active" and match["user"]["user_id"] == alice.key
        ev_a = await a.next_event("match.created")
        ev_b = await b.next_event("match.created")
        for ev in (ev_a, ev_b):
            closed_match(MatchCreated, ev["data"])
            assert ev["data"]["match"]["id"] == match["id"]
        assert ev_a["data"]["match"]["user"]["user_id"] == bob.key
        assert ev_b["data"]["match"]["user"]["user_id"] == alice.key
        assert ev_b["data"]["match"] == match
        await no_event(a, "like.received", 0.2)  # the like back is not also a like.received
    assert await scalar(engine, "SELECT count(*) FROM matches WHERE user_a = :a AND user_b = :b",
                        a=min(alice.id, bob.id), b=max(alice.id, bob.id)) == 1


@pytest.mark.parametrize("case", ["unknown", "self", "banned", "deleted", "suspended", "blocked_by_me",
                                  "blocked_me", "passed"])
async def test_unreachable_targets_are_not_found_without_trace(server: RunningServer, engine: AsyncEngine,
                                                               case: str) -> None:
    """Nobody, oneself, inactive accounts, blocks either way and one's own active pass: not_found, nothing stored."""
    liker = await veteran(engine)
    status = {"banned": "banned", "deleted": "deleted", "suspended": "suspended"}.get(case, "active")
    target = liker if case == "self" else await make_person(engine, status=status)
    if case == "suspended":
        await execute(engine, "UPDATE users SET suspended_until = now() + interval '1 day' WHERE id = :u", u=target.id)
    if case == "blocked_by_me":
        await execute(engine, "INSERT INTO blocks (blocker_id, blocked_id) VALUES (:a, :b)", a=liker.id, b=target.id)
    if case == "blocked_me":
        await execute(engine, "INSERT INTO blocks (blocker_id, blocked_id) VALUES (:b, :a)", a=liker.id, b=target.id)
    if case == "passed":
        await execute(engine, "INSERT INTO passes (passer_id, passee_id, expires_at) "
                              "VALUES (:a, :b, now() + interval '1 day')", a=liker.id, b=target.id)
    user_id = str(uuid.uuid4()) if case == "unknown" else target.key
    before = await trace(engine, liker, target)
    async with online(server, liker) as (c,):
        assert (await error_code(c, "like", {"user_id": user_id, "comment": COMMENT})).code == "not_found"
    assert await trace(engine, liker, target) == before


@pytest.mark.parametrize("case", ["suspension_over", "expired_pass", "preferences_exclude_me"])
async def test_reachable_targets_can_be_liked(server: RunningServer, engine: AsyncEngine, case: str) -> None:
    """An ended suspension, an expired pass and preferences that exclude the liker do not stop a like."""
    liker = await veteran(engine, gender="man", age=60)
    if case == "preferences_exclude_me":
        target = await make_person(engine, interested_in=("woman",), age_max=30, max_distance_km=1,
                                   location=(-33.9, 151.2))
    else:
        target = await make_person(engine, status="suspended" if case == "suspension_over" else "active")
    if case == "suspension_over":
        await execute(engine, "UPDATE users SET suspended_until = now() - interval '1 minute' WHERE id = :u",
                      u=target.id)
    if case == "expired_pass":
        await execute(engine, "INSERT INTO passes (passer_id, passee_id, created_at, expires_at) "
                              "VALUES (:a, :b, now() - interval '31 days', now() - interval '1 day')",
                      a=liker.id, b=target.id)
    async with online(server, liker) as (c,):
        assert (await c.call("like", {"user_id": target.key}))["match"] is None


async def test_not_found_comes_before_the_daily_limit(server: RunningServer, engine: AsyncEngine) -> None:
    """A blocked target while the daily limit is reached is not_found, not daily_limit_reached."""
    liker = await veteran(engine)
    target = await make_person(engine)
    await set_daily_count(engine, liker, 10)
    await execute(engine, "INSERT INTO blocks (blocker_id, blocked_id) VALUES (:b, :a)", a=liker.id, b=target.id)
    async with online(server, liker) as (c,):
        assert (await error_code(c, "like", {"user_id": target.key})).code == "not_found"


async def test_liking_twice_is_conflict_without_trace(server: RunningServer, engine: AsyncEngine) -> None:
    """Liking the same person again is conflict, even with the daily limit reached, and changes nothing."""
    liker = await veteran(engine)
    target = await make_person(engine)
    async with online(server, liker) as (c,):
        await c.call("like", {"user_id": target.key})
        before = await trace(engine, liker, target)
        assert (await error_code(c, "like", {"user_id": target.key})).code == "conflict"
        assert await trace(engine, liker, target) == before
        await set_daily_count(engine, liker, 10)
        assert (await error_code(c, "like", {"user_id": target.key})).code == "conflict"


async def test_daily_limit_without_trace(server: RunningServer, engine: AsyncEngine) -> None:
    """The 11th like of a UTC day is daily_limit_reached (with when it resets) and stores nothing."""
    liker = await veteran(engine)
    await set_daily_count(engine, liker, 9)
    first, second = await make_person(engine), await make_person(engine)
    async with online(server, liker) as (c,):
        assert (await c.call("like", {"user_id": first.key}))["likes_left_today"] == 0
        before = await trace(engine, liker, second)
        err = await error_code(c, "like", {"user_id": second.key, "comment": COMMENT})
        assert err.code == "daily_limit_reached" and err.details
        assert err.details["limit"] == 10
        tomorrow = datetime.now(UTC).date() + timedelta(days=1)
        assert err.details["resets_at"] == f"{tomorrow.isoformat()}T00:00:00Z"
        assert await trace(engine, liker, second) == before


async def test_daily_limit_comes_before_comment_required(server: RunningServer, engine: AsyncEngine) -> None:
    """A brand-new liker without a comment but out of likes today hears daily_limit_reached first."""
    liker = await make_person(engine)
    await set_daily_count(engine, liker, 10)
    async with online(server, liker) as (c,):
        target = await make_person(engine)
        assert (await error_code(c, "like", {"user_id": target.key})).code == "daily_limit_reached"


@pytest.mark.parametrize("text", [None, "", "          ", "too short", "x" * 501])
async def test_first_likes_need_a_comment_of_10_to_500(server: RunningServer, engine: AsyncEngine,
                                                       text: str | None) -> None:
    """A first like without a 10-500 character comment is comment_required and leaves no trace."""
    liker = await make_person(engine)
    target = await make_person(engine)
    before = await trace(engine, liker, target)
    data: dict[str, object] = {"user_id": target.key}
    if text is not None:
        data["comment"] = text
    async with online(server, liker) as (c,):
        err = await error_code(c, "like", data)
        assert err.code == "comment_required"
        assert err.details == {"min_chars": 10, "max_chars": 500, "likes_needing_comment": 5}
    assert await trace(engine, liker, target) == before


async def test_comment_needed_for_exactly_the_first_five(server: RunningServer, engine: AsyncEngine) -> None:
    """Likes 1-5 need a comment (exact bounds 10 and 500 pass); the 6th may go without one."""
    liker = await make_person(engine)
    targets = [await make_person(engine) for _ in range(7)]
    async with online(server, liker) as (c,):
        texts = ["x" * 10, "y" * 500, comment(3), comment(4)]
        for target, text in zip(targets, texts, strict=False):
            await c.call("like", {"user_id": target.key, "comment": text})
        err = await error_code(c, "like", {"user_id": targets[4].key})
        assert err.code == "comment_required" and err.details and err.details["likes_needing_comment"] == 1
        await c.call("like", {"user_id": targets[4].key, "comment": comment(5)})
    await execute(engine, "UPDATE likes SET created_at = created_at - interval '2 minutes' WHERE liker_id = :u",
                  u=liker.id)
    async with online(server, liker) as (c,):
        reply = await c.call("like", {"user_id": targets[5].key})
        assert reply["likes_left_today"] == 4
        stored = await scalar(engine, "SELECT comment IS NULL FROM likes WHERE liker_id = :a AND likee_id = :b",
                              a=liker.id, b=targets[5].id)
        assert stored is True
        # a later comment is optional, but when given it is still 10-500 characters
        err = await error_code(c, "like", {"user_id": targets[6].key, "comment": "hi!"})
        assert err.code == "validation_error" and err.details and "comment" in err.details["fields"]


async def test_same_comment_folded_at_most_twice(server: RunningServer, engine: AsyncEngine) -> None:
    """Case, spacing, a Cyrillic look-alike and a digit-for-letter do not make a comment new: the third is spam."""
    liker = await make_person(engine)
    targets = [await make_person(engine) for _ in range(4)]
    async with online(server, liker) as (c,):
        await c.call("like", {"user_id": targets[0].key, "comment": "Hello  THERE friend"})
        await c.call("like", {"user_id": targets[1].key, "comment": "h\u0435llo there friend"})
        before = await trace(engine, liker, targets[2])
        err = await error_code(c, "like", {"user_id": targets[2].key, "comment": "HELL0 there friend"})
        assert err.code == "spam_detected"
        assert await trace(engine, liker, targets[2]) == before
        reply = await c.call("like", {"user_id": targets[2].key, "comment": "Hello there, new friend"})
        assert reply["match"] is None


async def test_velocity_five_per_minute_with_retry_after(server: RunningServer, engine: AsyncEngine) -> None:
    """Five likes in the last 60 s: the next is rate_limited until the oldest of them leaves the window."""
    liker = await veteran(engine)
    await seed_likes(engine, liker, 5, ago=timedelta(seconds=50), spacing=timedelta(seconds=8))
    target = await make_person(engine)
    before = await trace(engine, liker, target)
    async with online(server, liker) as (c,):
        err = await error_code(c, "like", {"user_id": target.key})
        assert err.code == "rate_limited" and err.details
        assert err.details["retry_after_s"] in (10, 11)  # the oldest was 50 s ago
    assert await trace(engine, liker, target) == before
    # as soon as the oldest leaves the window, one more fits
    await execute(engine, "UPDATE likes SET created_at = now() - interval '61 seconds' "
                          "WHERE liker_id = :u AND created_at = (SELECT min(created_at) FROM likes "
                          "WHERE liker_id = :u AND created_at > now() - interval '60 seconds')", u=liker.id)
    async with online(server, liker) as (c,):
        assert (await c.call("like", {"user_id": target.key}))["likes_left_today"] == 4


async def test_spam_comes_before_velocity(server: RunningServer, engine: AsyncEngine) -> None:
    """With five recent likes, two of them with the same comment, a third copy is spam_detected, not rate_limited."""
    liker = await veteran(engine)
    await seed_likes(engine, liker, 2, ago=timedelta(seconds=20), comment_text=COMMENT)
    await seed_likes(engine, liker, 3, ago=timedelta(seconds=10))
    target = await make_person(engine)
    async with online(server, liker) as (c,):
        err = await error_code(c, "like", {"user_id": target.key, "comment": COMMENT.upper()})
        assert err.code == "spam_detected"
        assert (await error_code(c, "like", {"user_id": target.key})).code == "rate_limited"


async def test_refused_like_keeps_likes_left_today(server: RunningServer, engine: AsyncEngine) -> None:
    """After refusals of every kind, the next accepted like still counts down from where it was."""
    liker = await make_person(engine)
    targets = [await make_person(engine) for _ in range(3)]
    async with online(server, liker) as (c,):
        assert (await c.call("like", {"user_id": targets[0].key, "comment": comment(1)}))["likes_left_today"] == 9
        await error_code(c, "like", {"user_id": targets[1].key})  # comment_required
        await error_code(c, "like", {"user_id": targets[0].key, "comment": comment(2)})  # conflict
        await error_code(c, "like", {"user_id": str(uuid.uuid4()), "comment": comment(3)})  # not_found
        assert (await c.call("like", {"user_id": targets[1].key, "comment": comment(4)}))["likes_left_today"] == 8


async def test_like_input_is_validated(server: RunningServer, engine: AsyncEngine) -> None:
    """A malformed user_id or an unknown field is validation_error."""
    liker = await make_person(engine)
    async with online(server, liker) as (c,):
        assert (await error_code(c, "like", {"user_id": "nope"})).code == "validation_error"
        assert (await error_code(c, "like", {"user_id": liker.key, "extra": 1})).code == "validation_error"
        err = await error_code(c, "like", {"user_id": str(uuid.uuid4()), "comment": "bad\x00comment!"})
        assert err.code == "validation_error"
