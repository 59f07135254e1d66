"""Who discovery never shows (CONTRACT section 3 "Discovery"), one rule per test, through the real socket.

Every test places a viewer, a control candidate the viewer does see, and the
person the rule must hide, in a remote place of its own; so each test fails if
its rule is missing, and shows the set-up itself is right.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.discovery.support import (
    Place,
    block,
    candidate_at,
    insert_rows,
    liked,
    matched,
    north_of,
    passed,
    seen_by,
    somewhere,
    viewer_at,
)
from tests.support.factory import Person
from tests.support.server import RunningServer


@dataclass
class Scene:
    place: Place
    viewer: Person
    control: Person


@pytest.fixture
async def scene(engine: AsyncEngine) -> Scene:
    """A viewer and a candidate they see, alone in a remote place."""
    place = somewhere()
    return Scene(place, await viewer_at(engine, place), await candidate_at(engine, place, name="Control"))


async def hidden(server: RunningServer, scene: Scene, person: Person) -> None:
    """The viewer sees the control candidate but not ``person``."""
    seen = await seen_by(server, scene.viewer)
    assert scene.control.key in seen
    assert person.key not in seen


async def shown(server: RunningServer, scene: Scene, person: Person) -> None:
    seen = await seen_by(server, scene.viewer)
    assert {scene.control.key, person.key} <= set(seen)


async def test_never_oneself(server: RunningServer, engine: AsyncEngine) -> None:
    """A viewer who matches their own preferences is still never shown to themselves."""
    place = somewhere()
    viewer = await viewer_at(engine, place, gender="woman", interested_in=("woman",), age_max=40)
    control = await candidate_at(engine, place, interested_in=("woman",))
    seen = await seen_by(server, viewer)
    assert seen == [control.key]


async def test_blocked_by_the_viewer_is_hidden(server: RunningServer, engine: AsyncEngine, scene: Scene) -> None:
    """Someone the viewer blocked never shows."""
    other = await candidate_at(engine, scene.place)
    await insert_rows(engine, block(scene.viewer, other))
    await hidden(server, scene, other)


async def test_someone_who_blocked_the_viewer_is_hidden(server: RunningServer, engine: AsyncEngine,
                                                        scene: Scene) -> None:
    """Someone who blocked the viewer never shows either."""
    other = await candidate_at(engine, scene.place)
    await insert_rows(engine, block(other, scene.viewer))
    await hidden(server, scene, other)


async def test_an_active_pass_hides_and_an_expired_one_does_not(server: RunningServer, engine: AsyncEngine,
                                                                scene: Scene) -> None:
    """Someone the viewer passed stays hidden while the pass lasts, and shows again after it expired."""
    recent = await candidate_at(engine, scene.place, name="Recent")
    old = await candidate_at(engine, scene.place, name="Old")
    await insert_rows(engine, passed(scene.viewer, recent, expires_in=timedelta(days=29)),
                      passed(scene.viewer, old, expires_in=-timedelta(minutes=1)))
    seen = await seen_by(server, scene.viewer)
    assert old.key in seen and scene.control.key in seen
    assert recent.key not in seen


async def test_a_pass_by_the_candidate_does_not_hide_them(server: RunningServer, engine: AsyncEngine,
                                                          scene: Scene) -> None:
    """Only the viewer's own passes hide people: being passed by someone does not hide them from you."""
    other = await candidate_at(engine, scene.place)
    await insert_rows(engine, passed(other, scene.viewer, expires_in=timedelta(days=29)))
    await shown(server, scene, other)


async def test_someone_already_liked_is_hidden(server: RunningServer, engine: AsyncEngine, scene: Scene) -> None:
    """Someone the viewer already liked never shows again; someone who liked the viewer does show."""
    liked_by_viewer = await candidate_at(engine, scene.place, name="Liked")
    admirer = await candidate_at(engine, scene.place, name="Admirer")
    await insert_rows(engine, liked(scene.viewer, liked_by_viewer), liked(admirer, scene.viewer))
    seen = await seen_by(server, scene.viewer)
    assert admirer.key in seen and scene.control.key in seen
    assert liked_by_viewer.key not in seen


@pytest.mark.parametrize("state", ["active", "unmatched", "deleted"])
async def test_anyone_with_a_match_row_is_hidden(server: RunningServer, engine: AsyncEngine, scene: Scene,
                                                 state: str) -> None:
    """Someone the viewer is or was matched with never shows, whatever became of the match."""
    other = await candidate_at(engine, scene.place)
    await insert_rows(engine, matched(scene.viewer, other, state))  # the match row alone, no likes
    await hidden(server, scene, other)


@pytest.mark.parametrize("status", ["banned", "deleted"])
async def test_banned_and_deleted_accounts_are_hidden(server: RunningServer, engine: AsyncEngine, scene: Scene,
                                                      status: str) -> None:
    """Banned and deleted accounts never show, even with an old suspension that has ended on record."""
    from sqlalchemy import update

    from domain.models import User

    gone = await candidate_at(engine, scene.place, status=status)
    await insert_rows(engine, update(User).where(User.id == gone.id).values(
        suspended_until=datetime.now(UTC) - timedelta(days=30)))
    await hidden(server, scene, gone)


async def test_a_suspension_hides_until_it_ends(server: RunningServer, engine: AsyncEngine, scene: Scene) -> None:
    """A suspended account is hidden while the suspension lasts and shows once it has ended."""
    from sqlalchemy import update

    from domain.models import User

    now = datetime.now(UTC)
    current = await candidate_at(engine, scene.place, name="Suspended", status="suspended")
    over = await candidate_at(engine, scene.place, name="Served", status="suspended")
    await insert_rows(engine,
                      update(User).where(User.id == current.id).values(suspended_until=now + timedelta(days=3)),
                      update(User).where(User.id == over.id).values(suspended_until=now - timedelta(hours=1)))
    seen = await seen_by(server, scene.viewer)
    assert over.key in seen and scene.control.key in seen
    assert current.key not in seen


async def test_moderators_are_hidden(server: RunningServer, engine: AsyncEngine, scene: Scene) -> None:
    """Moderator accounts are not on the dating side: they never show."""
    await hidden(server, scene, await candidate_at(engine, scene.place, role="moderator"))


async def test_profiles_without_a_photo_are_hidden(server: RunningServer, engine: AsyncEngine, scene: Scene) -> None:
    """A profile with no photo never shows."""
    await hidden(server, scene, await candidate_at(engine, scene.place, photos=0))


async def test_profiles_without_a_quiz_are_hidden(server: RunningServer, engine: AsyncEngine, scene: Scene) -> None:
    """A profile that has not completed the quiz never shows."""
    await hidden(server, scene, await candidate_at(engine, scene.place, answers={}))


async def test_profiles_without_a_location_are_hidden(server: RunningServer, engine: AsyncEngine,
                                                      scene: Scene) -> None:
    """A profile without a location is within nobody's distance."""
    await hidden(server, scene, await candidate_at(engine, scene.place, location=None))


async def test_gender_outside_the_viewers_interest_is_hidden(server: RunningServer, engine: AsyncEngine,
                                                             scene: Scene) -> None:
    """The viewer is interested in women only: a man interested in men like the viewer does not show."""
    await hidden(server, scene, await candidate_at(engine, scene.place, gender="man", interested_in=("man",)))


async def test_candidate_not_interested_in_the_viewers_gender_is_hidden(server: RunningServer, engine: AsyncEngine,
                                                                       scene: Scene) -> None:
    """A woman interested only in women does not show to a man interested in women."""
    await hidden(server, scene, await candidate_at(engine, scene.place, interested_in=("woman", "nonbinary")))


async def test_age_outside_the_viewers_range_is_hidden(server: RunningServer, engine: AsyncEngine,
                                                       scene: Scene) -> None:
    """The viewer accepts 25-35: 24- and 36-year-olds (who accept the viewer) do not show; 25 and 35 do."""
    younger = await candidate_at(engine, scene.place, age=24, age_min=18)
    older = await candidate_at(engine, scene.place, age=36)
    edges = [await candidate_at(engine, scene.place, age=age, age_min=18) for age in (25, 35)]
    seen = await seen_by(server, scene.viewer)
    assert {e.key for e in edges} <= set(seen) and scene.control.key in seen
    assert younger.key not in seen and older.key not in seen


async def test_viewer_outside_the_candidates_age_range_is_hidden(server: RunningServer, engine: AsyncEngine,
                                                                 scene: Scene) -> None:
    """A candidate who accepts only 31-40 does not show to a 30-year-old viewer; one accepting 30-40 does."""
    picky = await candidate_at(engine, scene.place, age_min=31)
    edge = await candidate_at(engine, scene.place, age_min=30)
    seen = await seen_by(server, scene.viewer)
    assert edge.key in seen
    assert picky.key not in seen


async def test_beyond_the_viewers_distance_is_hidden(server: RunningServer, engine: AsyncEngine,
                                                     scene: Scene) -> None:
    """The viewer's limit is 50 km: someone 55 km away who would travel 100 km does not show; 45 km does."""
    far = await candidate_at(engine, scene.place, location=north_of(scene.place, 55), max_distance_km=100)
    near = await candidate_at(engine, scene.place, location=north_of(scene.place, 45), max_distance_km=100)
    seen = await seen_by(server, scene.viewer)
    assert near.key in seen
    assert far.key not in seen


async def test_beyond_the_candidates_distance_is_hidden(server: RunningServer, engine: AsyncEngine,
                                                        scene: Scene) -> None:
    """Someone 30 km away whose own limit is 20 km does not show, though the viewer's 50 km would allow it."""
    homebody = await candidate_at(engine, scene.place, location=north_of(scene.place, 30), max_distance_km=20)
    await hidden(server, scene, homebody)


async def test_an_incomplete_viewer_is_told_what_is_missing(server: RunningServer, engine: AsyncEngine) -> None:
    """A viewer without a location or gender gets validation_error naming the missing profile fields."""
    from delete_client import ClientError

    from tests.discovery.support import client

    viewer = await viewer_at(engine, None, gender=None)
    async with client(server, viewer) as c:
        with pytest.raises(ClientError) as info:
            await c.call("discovery.request", {"count": 5})
    assert info.value.code == "validation_error"
    assert set(info.value.details["fields"]) == {"location", "gender"}


@pytest.mark.parametrize("count", [0, 21, 2.5, None])
async def test_count_must_be_1_to_20(server: RunningServer, engine: AsyncEngine, count: object) -> None:
    """``count`` outside 1-20 (or not a whole number) is a validation_error on that field."""
    from delete_client import ClientError

    from tests.discovery.support import client

    viewer = await viewer_at(engine, somewhere())
    async with client(server, viewer) as c:
        with pytest.raises(ClientError) as info:
            await c.call("discovery.request", {"count": count})
    assert info.value.code == "validation_error"
    assert "count" in info.value.details["fields"]
