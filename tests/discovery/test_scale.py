"""Discovery at scale: the tiers of ``users.rank_bound`` (migration 0012) change no batch and no filter.

The repository reads the best tier of "static points" (completeness + recency +
newness) first and stops when that tier decides the batch. These tests build
crowds in which the first tier does decide (checked, so the tests exercise the
short path), and show that the batch equals the one query over everyone, and
that each change that makes someone ineligible shows on the very next batch.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from domain.discovery import ranking
from domain.discovery import repository as repo
from domain.models import User
from domain.models.users import DISCOVERY_BANDS
from tests.discovery.support import (
    Place,
    answers_at,
    block,
    candidate_at,
    insert_rows,
    liked,
    matched,
    passed,
    prompt_answers,
    seen_by,
    somewhere,
    viewer_at,
)
from tests.support.factory import Person
from tests.support.server import RunningServer
from tests.support.statements import round_trips


@dataclass
class Crowd:
    place: Place
    viewer: Person
    best: Person  # the highest-ranked candidate (compatibility 100, every static point)
    others: list[Person]


async def _complete(engine: AsyncEngine, place: Place, distance: int, *, new: bool = True, active: bool = True,
                    photos: int = 5, prompts: int = 3, bio: bool = True, **kwargs: Any) -> Person:
    now = datetime.now(UTC)
    person = await candidate_at(engine, place, answers=answers_at(distance), photos=photos,
                                created_at=now - timedelta(days=1 if new else 400),
                                last_active_at=now - timedelta(hours=1 if active else 24 * 60), **kwargs)
    statements = prompt_answers(person, prompts)
    if bio:
        statements.append(update(User).where(User.id == person.id).values(bio="Weekend baker."))
    await insert_rows(engine, *statements)
    return person


async def _crowd(engine: AsyncEngine) -> Crowd:
    """A viewer with twelve top-tier candidates (one of them an opposite) and two low-tier ones."""
    place = somewhere()
    viewer = await viewer_at(engine, place)
    best = await _complete(engine, place, 0, name="Best", age=34)
    others = [await _complete(engine, place, 1 + i % 2) for i in range(10)]  # scores 96 and 92: a top tier of 44
    others.append(await _complete(engine, place, 14, name="Opposite"))  # score 42: an opposite
    others.append(await _complete(engine, place, 0, new=False, active=False, photos=1, prompts=0, bio=False))
    others.append(await _complete(engine, place, 18, new=False, active=False, photos=1, prompts=0, bio=False))
    return Crowd(place, viewer, best, others)


async def _tier(engine: AsyncEngine, viewer: Person, count: int, bounds: tuple[int, int]) -> list[Any]:
    async with AsyncSession(engine) as session:
        result = await session.execute(repo._BATCH, repo.batch_params(viewer.id, count, [], datetime.now(UTC),
                                                                       bounds))
        return list(result)


async def _decided_by_first_tier(engine: AsyncEngine, viewer: Person, count: int) -> bool:
    rows = await _tier(engine, viewer, count, (repo.TIERS[0], repo.MAX_BOUND))
    return repo.decided(rows, count, repo.TIERS[0])


async def _tiered(engine: AsyncEngine, viewer: Person, count: int, sent: list[Any] | None = None) -> list[Any]:
    async with AsyncSession(engine) as session:
        rows = await repo.candidates(session, viewer.id, count, sent or [], datetime.now(UTC))
    return [r.user_id for r in rows]


async def test_the_bound_is_the_static_points_an_hour_before_the_write(engine: AsyncEngine) -> None:
    """``rank_bound`` is completeness + recency + newness as ranking.py counts them, an hour before the
    write, and follows photos, prompts, bio and activity as they change."""
    place = somewhere()
    now = datetime.now(UTC)
    cases = [(5, 3, True, timedelta(minutes=30), timedelta(days=1)),   # 10 + 6 + 4 + 10 + 20 = 50
             (1, 0, False, timedelta(days=3), timedelta(days=400)),     # 2 + 7 = 9
             (6, 1, True, timedelta(days=20), timedelta(days=3)),       # 10 + 2 + 4 + 4 + 20 = 40
             (2, 2, False, timedelta(days=90), timedelta(days=90))]     # 4 + 4 = 8
    for photos, prompts, bio, idle, age in cases:
        person = await _complete(engine, place, 0, photos=photos, prompts=prompts, bio=bio)
        await insert_rows(engine, update(User).where(User.id == person.id).values(
            last_active_at=now - idle, created_at=now - age))
        at = now - timedelta(hours=1)
        expected = (ranking.completeness(photos, prompts, bio) + ranking.recency(now - idle, at)
                    + ranking.newness(now - age, at))
        assert await _bound(engine, person) == expected
    person = await _complete(engine, place, 0, new=False, active=False, photos=1, prompts=0, bio=False)
    assert await _bound(engine, person) == 2
    await insert_rows(engine, *prompt_answers(person, 2),
                      update(User).where(User.id == person.id).values(bio="Hello", last_active_at=now))
    assert await _bound(engine, person) == 2 + 4 + 4 + 10


async def _bound(engine: AsyncEngine, person: Person) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT rank_bound FROM users WHERE id = :id"),
                                       {"id": person.id})).scalar_one())


@pytest.mark.parametrize("count", [1, 2, 5, 11])
async def test_the_tiers_give_the_batch_of_one_query_over_everyone(engine: AsyncEngine, count: int) -> None:
    """When the first tier decides the batch, its rows are those of the one query over every tier."""
    crowd = await _crowd(engine)
    assert await _decided_by_first_tier(engine, crowd.viewer, count)
    everyone = [r.id for r in repo.best_of(await _tier(engine, crowd.viewer, count, (0, repo.MAX_BOUND)), count)]
    assert await _tiered(engine, crowd.viewer, count) == everyone
    assert crowd.best.id == everyone[0] and crowd.others[10].id == everyone[-1]  # the opposite comes last


async def test_a_random_crowd_matches_the_one_query(engine: AsyncEngine) -> None:
    """Thirty people with random profiles, paged as a socket pages them: every page is the one query's,
    whichever tier decides it."""
    rng = random.Random(18)
    place = somewhere()
    viewer = await viewer_at(engine, place)
    for _ in range(30):
        await _complete(engine, place, rng.randint(0, 18), new=rng.random() < 0.5, active=rng.random() < 0.5,
                        photos=rng.randint(1, 6), prompts=rng.randint(0, 3), bio=rng.random() < 0.5)
    sent: list[Any] = []
    while True:
        async with AsyncSession(engine) as session:
            result = await session.execute(repo._BATCH, repo.batch_params(viewer.id, 4, sent, datetime.now(UTC)))
            everyone = [r.id for r in repo.best_of(list(result), 4)]
        tiered = await _tiered(engine, viewer, 4, sent)
        assert tiered == everyone
        if not tiered:
            break
        sent.extend(tiered)
    assert len(set(sent)) == 30


# (band, the profile of someone whose bound is the band's floor, of someone two points below it)
_AT_FLOORS = [("top", {"photos": 3}, {"photos": 2}),  # 6 + 10 + 20 = 36 and 34
              ("mid", {"photos": 4, "active": False}, {"photos": 3, "active": False})]  # 8 + 20 = 28 and 26


@pytest.mark.parametrize(("band", "at_floor_profile", "below_profile"), _AT_FLOORS)
async def test_someone_at_a_band_floor_is_read_with_the_band(engine: AsyncEngine, band: str,
                                                             at_floor_profile: dict[str, Any],
                                                             below_profile: dict[str, Any]) -> None:
    """A tier inside a band of ``DISCOVERY_BANDS`` reads the band's indexes (migration 0018), the others the
    whole ones: someone whose bound is exactly the band's floor is found once, someone just below it too, and
    the batch is the one query's."""
    floor = {name: low for name, low, _ in DISCOVERY_BANDS}[band]
    place = somewhere()
    viewer = await viewer_at(engine, place)
    at_floor = await _complete(engine, place, 1, prompts=0, bio=False, **at_floor_profile)
    below = await _complete(engine, place, 0, prompts=0, bio=False, **below_profile)  # a better score
    assert (await _bound(engine, at_floor), await _bound(engine, below)) == (floor, floor - 2)
    everyone = [r.id for r in repo.best_of(await _tier(engine, viewer, 2, (0, repo.MAX_BOUND)), 2)]
    assert sorted(everyone) == sorted([at_floor.id, below.id])
    assert await _tiered(engine, viewer, 2) == everyone
    async with AsyncSession(engine) as session:
        read = await repo.tier_rows(session, viewer.id, 2, [], datetime.now(UTC))
    assert sorted(r.id for r in read) == sorted(everyone)  # each read once, in its own tier


async def test_an_opposite_found_only_in_a_low_tier_takes_the_last_place(engine: AsyncEngine) -> None:
    """Twelve complete, new, active people decide the top in the first tier; the only opposite is an old, idle
    profile with one photo (2 static points). The lower tiers are then searched for opposites only (the closer
    low-tier person is never read), in the same round trip, and the batch is still exactly the one query's:
    the opposite comes last, the closer low-tier person not at all."""
    place = somewhere()
    viewer = await viewer_at(engine, place)
    for i in range(12):
        await _complete(engine, place, i % 4)
    low: dict[str, Any] = {"new": False, "active": False, "photos": 1, "prompts": 0, "bio": False}
    near = await _complete(engine, place, 0, **low)  # score 100 but 2 static points: below the top
    opposite = await _complete(engine, place, 16, name="Far", **low)  # score 33: the only opposite
    count = 5
    everyone = [r.id for r in repo.best_of(await _tier(engine, viewer, count, (0, repo.MAX_BOUND)), count)]
    async with AsyncSession(engine) as session:
        await session.execute(text("SELECT 1"))
        with round_trips(engine) as seen:
            read = await repo.tier_rows(session, viewer.id, count, [], datetime.now(UTC))
        assert seen == Counter({"SELECT": 1}), seen  # every tier in one statement
    assert [r.id for r in repo.best_of(read, count)] == everyone
    assert everyone[-1] == opposite.id and near.id not in everyone
    assert near.id not in {r.id for r in read}  # the low tiers were asked for opposites only
    assert opposite.id in {r.id for r in read}


def _blocked(c: Crowd) -> list[Any]:
    return [block(c.best, c.viewer)]


def _passed(c: Crowd) -> list[Any]:
    return [passed(c.viewer, c.best, expires_in=timedelta(days=29))]


def _liked(c: Crowd) -> list[Any]:
    return [liked(c.viewer, c.best)]


def _matched(c: Crowd) -> list[Any]:
    return [matched(c.viewer, c.best, "active")]


def _banned(c: Crowd) -> list[Any]:
    return [update(User).where(User.id == c.best.id).values(status="banned")]


def _narrowed(c: Crowd) -> list[Any]:
    return [update(User).where(User.id == c.viewer.id).values(age_max=33)]  # the best is 34


def _not_interested(c: Crowd) -> list[Any]:
    return [update(User).where(User.id == c.best.id).values(interested_in=["woman"])]


@pytest.mark.parametrize("change", [_blocked, _passed, _liked, _matched, _banned, _narrowed, _not_interested])
async def test_someone_made_ineligible_is_gone_from_the_next_batch(server: RunningServer, engine: AsyncEngine,
                                                                   change: Callable[[Crowd], list[Any]]) -> None:
    """Block, pass, like, match, ban, the viewer's or the candidate's preferences: the top-tier candidate
    shown first in one batch is not in the next one, while the rest of the batch stays."""
    crowd = await _crowd(engine)
    assert await _decided_by_first_tier(engine, crowd.viewer, 2)
    before = await seen_by(server, crowd.viewer, 2)
    assert before[0] == crowd.best.key
    await insert_rows(engine, *change(crowd))
    after = await seen_by(server, crowd.viewer, 2)
    assert crowd.best.key not in after and before[1] in after


async def test_the_job_lowers_a_loose_bound(engine: AsyncEngine) -> None:
    """A bound left high (as time leaves it once activity fades) is brought back to the static points by the
    scheduled job; a tight one is left alone."""
    from delete_api.database import make_sessionmaker
    from delete_api.jobs import tighten_discovery_bounds

    place = somewhere()
    loose = await _complete(engine, place, 0, new=False, active=False, photos=1, prompts=0, bio=False)
    tight = await _complete(engine, place, 0)
    async with engine.begin() as conn:
        await conn.execute(text("SET LOCAL session_replication_role = replica"))  # write past the trigger
        await conn.execute(text("UPDATE users SET rank_bound = 50 WHERE id = :id"), {"id": loose.id})
    assert (await _bound(engine, loose), await _bound(engine, tight)) == (50, 50)
    assert await tighten_discovery_bounds(make_sessionmaker(engine)) >= 1
    assert (await _bound(engine, loose), await _bound(engine, tight)) == (2, 50)
