"""Discovery batches over the socket: rank order, the opposite rule, paging, empty, card contents, frame order."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import connect

from domain.compatibility.scoring import score_from_distance
from domain.discovery import ranking
from domain.location.grid import snap
from tests.discovery.support import (
    ALIKE,
    OPPOSITE,
    answers_at,
    candidate_at,
    client,
    insert_rows,
    km_between,
    north_of,
    prompt_answers,
    request,
    somewhere,
    viewer_at,
)
from tests.support.server import RunningServer

PRIVATE = {"email", "birthdate", "lat", "lon", "location", "status", "role", "suspended_until", "password_hash",
           "interested_in", "age_min", "age_max", "max_distance_km", "photo_count", "prompt_count", "traits"}


async def test_cards_come_in_rank_order(server: RunningServer, engine: AsyncEngine) -> None:
    """Cards arrive best first by compatibility x 0.5 + completeness + recency + newness."""
    place = somewhere()
    viewer = await viewer_at(engine, place)
    now = datetime.now(UTC)
    old = now - timedelta(days=400)
    # (name, L1 distance from the viewer, photos, prompts, last active, created): expected rank
    specs = {
        "Twin": (0, 1, 0, now - timedelta(days=60), old),          # 50 + 2 + 0 + 0 = 52
        "Active": (0, 1, 0, now - timedelta(hours=2), old),        # 50 + 2 + 10 = 62
        "Weekly": (0, 1, 0, now - timedelta(days=3), old),         # 50 + 2 + 7 = 59
        "Monthly": (0, 1, 0, now - timedelta(days=20), old),       # 50 + 2 + 4 = 56
        "Newcomer": (6, 1, 0, now - timedelta(days=60), now - timedelta(days=2)),  # 37.5 + 2 + 20 = 59.5
        "Complete": (3, 6, 3, now - timedelta(days=60), old),      # 44 (87.5 rounds to 88) + 10 + 6 = 60
        "Distant": (12, 1, 0, now - timedelta(hours=1), old),      # 25 + 2 + 10 = 37
    }
    expected = {}
    people = {}
    for name, (distance, photos, prompts, active, created) in specs.items():
        person = await candidate_at(engine, place, name=name, answers=answers_at(distance), photos=photos,
                                    last_active_at=active, created_at=created)
        await insert_rows(engine, *prompt_answers(person, prompts))
        people[name] = person
        score = score_from_distance(distance)
        expected[person.key] = ranking.rank(score, ranking.completeness(photos, prompts, False),
                                            ranking.recency(active, now), ranking.newness(created, now))
    assert sorted(expected.values(), reverse=True) == [62, 60, 59.5, 59, 56, 52, 37]
    async with client(server, viewer) as c:
        batch = await request(c, 10)
    assert batch.ids == sorted(expected, key=lambda key: -expected[key])
    assert batch.empty
    scores = {card["user_id"]: card["compatibility"]["score"] for card in batch.cards}
    assert scores[people["Complete"].key] == 88 and scores[people["Newcomer"].key] == 75


async def test_each_batch_keeps_a_complementary_opposite(server: RunningServer, engine: AsyncEngine) -> None:
    """An opposite (score below 50) takes the last place of a batch that would otherwise have none."""
    place = somewhere()
    viewer = await viewer_at(engine, place)
    now = datetime.now(UTC)
    best = [await candidate_at(engine, place, name=f"Alike{i}", answers=ALIKE, last_active_at=now) for i in range(3)]
    opposite = await candidate_at(engine, place, name="Opposite", answers=OPPOSITE,
                                  last_active_at=now - timedelta(days=90))
    async with client(server, viewer) as c:
        first = await request(c, 3)
        assert len(first.ids) == 3 and not first.empty
        assert first.ids[-1] == opposite.key
        assert first.cards[-1]["compatibility"] == {"score": 25, "summary": "complementary opposites"}
        assert set(first.ids[:2]) <= {p.key for p in best}
        rest = await request(c, 3)
    assert len(rest.ids) == 1 and rest.empty  # the third alike person, nobody repeated


async def test_a_one_card_batch_is_simply_the_best(server: RunningServer, engine: AsyncEngine) -> None:
    """Asking for one card at a time shows the best first, not every opposite first."""
    place = somewhere()
    viewer = await viewer_at(engine, place)
    alike = await candidate_at(engine, place, name="Alike", answers=ALIKE)
    await candidate_at(engine, place, name="Opposite", answers=OPPOSITE)
    async with client(server, viewer) as c:
        batch = await request(c, 1)
    assert batch.ids == [alike.key] and not batch.empty


async def test_requests_page_through_people_then_say_empty(server: RunningServer, engine: AsyncEngine) -> None:
    """Repeated requests on one socket never repeat a card; discovery.empty comes once nobody is left."""
    place = somewhere()
    viewer = await viewer_at(engine, place)
    people = {(await candidate_at(engine, place, name=f"P{i}")).key for i in range(5)}
    async with client(server, viewer) as c:
        first = await request(c, 2)
        second = await request(c, 2)
        third = await request(c, 2)
        fourth = await request(c, 2)
    assert not first.empty and not second.empty
    assert len(third.ids) == 1 and third.empty  # discovery.empty in the batch that ran out
    assert fourth.ids == [] and fourth.empty and fourth.sent == 0
    assert set(first.ids + second.ids + third.ids) == people


async def test_exactly_the_last_people_say_empty_at_once(server: RunningServer, engine: AsyncEngine) -> None:
    """A batch that takes exactly everyone left is followed by discovery.empty straight away."""
    place = somewhere()
    viewer = await viewer_at(engine, place)
    for i in range(2):
        await candidate_at(engine, place, name=f"P{i}")
    async with client(server, viewer) as c:
        batch = await request(c, 2)
    assert len(batch.ids) == 2 and batch.empty


async def test_alone_means_empty(server: RunningServer, engine: AsyncEngine) -> None:
    """With nobody eligible around, the reply is sent 0 after a discovery.empty."""
    viewer = await viewer_at(engine, somewhere())
    async with client(server, viewer) as c:
        batch = await request(c, 5)
    assert batch.sent == 0 and batch.cards == [] and batch.empty


async def test_a_new_socket_starts_over(server: RunningServer, engine: AsyncEngine) -> None:
    """What was sent is remembered per socket: a new socket shows the same people again."""
    place = somewhere()
    viewer = await viewer_at(engine, place)
    person = await candidate_at(engine, place)
    for _ in range(2):
        async with client(server, viewer) as c:
            assert (await request(c, 5)).ids == [person.key]


async def test_someone_passed_and_taken_back_comes_again_on_the_same_socket(server: RunningServer,
                                                                           engine: AsyncEngine) -> None:
    """A socket forgets the people its user passed or liked (the batches leave them out for that reason): after
    ``pass.undo`` the person comes again on the socket that showed them, the one the user took the pass back on."""
    place = somewhere()
    viewer = await viewer_at(engine, place)
    person = await candidate_at(engine, place)
    async with client(server, viewer) as c:
        assert (await request(c, 5)).ids == [person.key]
        await c.call("pass", {"user_id": person.key})
        assert (await request(c, 5)).ids == []
        await c.call("pass.undo", {"user_id": person.key})
        assert (await request(c, 5)).ids == [person.key]


async def test_cards_show_rounded_distances_and_nothing_private(server: RunningServer, engine: AsyncEngine) -> None:
    """Cards carry the contract's fields only; distances are whole km between grid cells and never below 1."""
    place = somewhere()
    viewer = await viewer_at(engine, place)
    here = await candidate_at(engine, place, name="Here", location=north_of(place, 0.2))
    away = await candidate_at(engine, place, name="Away", location=north_of(place, 12.4))
    async with client(server, viewer) as c:
        batch = await request(c, 5)
    cards = {card["user_id"]: card for card in batch.cards}
    assert set(cards) == {here.key, away.key}
    for card in cards.values():
        assert set(card) == {"user_id", "display_name", "age", "distance_km", "photos", "prompts", "badges",
                             "compatibility"}
        assert not PRIVATE & set(card)
        assert isinstance(card["distance_km"], int) and card["distance_km"] >= 1
        assert card["age"] == 30
        assert card["photos"] and set(card["photos"][0]) == {"id", "url", "thumb_url", "position", "width", "height"}
    assert cards[here.key]["distance_km"] == 1
    # measured between the two ~1 km cells' centres (12 or 13 bands apart, depending on where in its band
    # the place lies), never from the exact points
    assert cards[away.key]["distance_km"] == round(km_between(snap(*place), snap(*north_of(place, 12.4)))) in (12, 13)
    assert cards[here.key]["compatibility"] == {"score": 100, "summary": "very compatible"}


async def test_cards_then_empty_then_the_reply(server: RunningServer, engine: AsyncEngine) -> None:
    """On the wire: every discovery.card, then discovery.empty, then the reply with the count sent."""
    place = somewhere()
    viewer = await viewer_at(engine, place)
    for i in range(2):
        await candidate_at(engine, place, name=f"P{i}")
    async with connect(server.ws_url + "/v1/ws", additional_headers={"Authorization": f"Bearer {viewer.token}"},
                       open_timeout=5) as ws:
        assert json.loads(await ws.recv(decode=True))["type"] == "hello"
        await ws.send(json.dumps({"type": "discovery.request", "ref": "r1", "data": {"count": 5}}))
        frames = []
        while not frames or frames[-1]["type"] != "reply":
            frames.append(json.loads(await ws.recv(decode=True)))
    assert [f["type"] for f in frames] == ["discovery.card", "discovery.card", "discovery.empty", "reply"]
    assert frames[-1] == {"type": "reply", "ref": "r1", "ok": True, "data": {"sent": 2}}
    assert all("seq" not in f for f in frames)
