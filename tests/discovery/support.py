"""Helpers for the discovery tests: remote places, factory people around them, and batches over the socket.

The test database is shared by the whole session, so every test works in a
remote place of its own (``somewhere``): profiles made by other tests (the
factory's default is Berlin) are never within anyone's distance there.
"""

from __future__ import annotations

import itertools
import math
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from delete_client import DeleteClient
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.models import Block, Like, Match, Pass, PromptAnswer
from tests.support.factory import Person, make_person
from tests.support.server import RunningServer

Place = tuple[float, float]
ALIKE = {"introvert_extrovert": 2, "planner_spontaneous": 2, "conflict_talk_space": 2,
         "together_alone_time": 2, "slow_quick_decisions": 2, "routine_novelty": 2}
OPPOSITE = {key: 5 for key in ALIKE}  # L1 distance 18 from ALIKE: score 25


# ``somewhere``'s places: a lattice of cells 3 degrees apart, from 55 S to 65 N (at least 113 km apart east-west at
# 65 degrees, 266 km north-south), one point at a random spot of each cell's middle, the cells handed out in a
# shuffled order, so no two tests of a session share a neighbourhood (random places did, about once a suite:
# someone made by another test 50 km away showed up as a card).
_SPACING = 3.0
_COLUMNS = int(350 // _SPACING)
_ROWS = int(120 // _SPACING)
_CELLS = random.Random(3).sample(range(_ROWS * _COLUMNS), _ROWS * _COLUMNS)
_places = itertools.count()


def somewhere() -> Place:
    """A remote place of the session's own: far from the factory's default (Berlin), and more than 100 km from
    every other place this function gave (people a test puts within tens of km of it never meet another test's).
    """
    while True:
        index = _CELLS[next(_places) % len(_CELLS)]
        row, column = divmod(index, _COLUMNS)
        lat = -55.0 + _SPACING * row + random.uniform(0.2, 0.8)
        lon = -175.0 + _SPACING * column + random.uniform(0.2, 0.8)
        if abs(lat - 52.52) > 5 or abs(lon - 13.4) > 8:
            return (round(lat, 5), round(lon, 5))


def north_of(place: Place, km: float) -> Place:
    """The point ``km`` kilometres due north of ``place``."""
    return (place[0] + km / 111.195, place[1])


def answers_at(distance: int) -> dict[str, int]:
    """Quiz answers at L1 distance ``distance`` (0..18) from ``ALIKE``."""
    out = dict(ALIKE)
    for key in out:
        step = min(3, distance)
        out[key] += step
        distance -= step
    return out


@dataclass
class Batch:
    """What one ``discovery.request`` produced on the socket."""

    sent: int
    cards: list[dict[str, Any]] = field(default_factory=list)
    empty: bool = False

    @property
    def ids(self) -> list[str]:
        return [card["user_id"] for card in self.cards]


async def drain(client: DeleteClient) -> list[dict[str, Any]]:
    """Events already received (they arrive before the reply of the command that caused them)."""
    events = []
    while True:
        try:
            events.append(await client.next_event(timeout=0.02))
        except TimeoutError:
            return events


async def request(client: DeleteClient, count: int) -> Batch:
    """Send ``discovery.request`` and collect the cards and ``discovery.empty`` pushed before the reply."""
    reply = await client.call("discovery.request", {"count": count})
    batch = Batch(reply["sent"])
    for event in await drain(client):
        if event["type"] == "discovery.card":
            assert "seq" not in event
            batch.cards.append(event["data"]["card"])
        elif event["type"] == "discovery.empty":
            assert event["data"] == {} and "seq" not in event
            batch.empty = True
    assert batch.sent == len(batch.cards)
    return batch


async def seen_by(server: RunningServer, viewer: Person, count: int = 20) -> list[str]:
    """Every user id one request on a fresh socket shows ``viewer``."""
    async with client(server, viewer) as c:
        return (await request(c, count)).ids


def client(server: RunningServer, person: Person) -> DeleteClient:
    return DeleteClient(server.ws_url + "/v1/ws", person.token)


async def viewer_at(engine: AsyncEngine, place: Place, **kwargs: Any) -> Person:
    """A man of 30 interested in women of 25-35 within 50 km of ``place``, quiz answers ``ALIKE``."""
    values: dict[str, Any] = {"name": "Viewer", "age": 30, "gender": "man", "interested_in": ("woman",),
                              "age_min": 25, "age_max": 35, "max_distance_km": 50, "location": place,
                              "answers": ALIKE}
    values.update(kwargs)
    return await make_person(engine, **values)


async def candidate_at(engine: AsyncEngine, place: Place, **kwargs: Any) -> Person:
    """A woman of 30 interested in men of 25-40 within 50 km, 5 km north of ``place``: the viewer sees her."""
    values: dict[str, Any] = {"name": "Candidate", "age": 30, "gender": "woman", "interested_in": ("man",),
                              "age_min": 25, "age_max": 40, "max_distance_km": 50, "location": north_of(place, 5),
                              "answers": ALIKE}
    values.update(kwargs)
    return await make_person(engine, **values)


async def insert_rows(engine: AsyncEngine, *statements: Any) -> None:
    async with engine.begin() as conn:
        for statement in statements:
            await conn.execute(statement)


def block(blocker: Person, blocked: Person) -> Any:
    return insert(Block).values(blocker_id=blocker.id, blocked_id=blocked.id)


def passed(passer: Person, passee: Person, *, expires_in: timedelta) -> Any:
    now = datetime.now(UTC)
    return insert(Pass).values(passer_id=passer.id, passee_id=passee.id, created_at=now - timedelta(days=1),
                               expires_at=now + expires_in)


def liked(liker: Person, likee: Person) -> Any:
    return insert(Like).values(id=uuid.uuid4(), liker_id=liker.id, likee_id=likee.id)


def matched(a: Person, b: Person, state: str = "unmatched") -> Any:
    low, high = sorted((a.id, b.id))
    return insert(Match).values(id=uuid.uuid4(), user_a=low, user_b=high, state=state)


def prompt_answers(person: Person, n: int) -> list[Any]:
    prompts = ("two_truths", "perfect_sunday", "green_flag")
    return [insert(PromptAnswer).values(user_id=person.id, prompt_id=p, answer="Something true.")
            for p in prompts[:n]]


def km_between(a: Place, b: Place) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(h))
