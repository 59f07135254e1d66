"""How often and how far a location may change (CONTRACT section 3 "Location privacy"), over the socket."""

from __future__ import annotations

import pytest
from delete_client import ClientError, DeleteClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.location.grid import snap
from tests.discovery.support import north_of, somewhere
from tests.support.factory import Person, make_person
from tests.support.server import RunningServer

_SHIFT = text("UPDATE users SET location_moves = ARRAY(SELECT m - make_interval(secs => :seconds) "
              "FROM unnest(location_moves) AS m) WHERE id = :id")


def _client(server: RunningServer, person: Person) -> DeleteClient:
    return DeleteClient(server.ws_url + "/v1/ws", person.token)


def _location(place: tuple[float, float]) -> dict[str, float]:
    return {"lat": place[0], "lon": place[1]}


async def _wait(engine: AsyncEngine, person: Person, seconds: float) -> None:
    """What waiting ``seconds`` does to the person's stored change times."""
    async with engine.begin() as conn:
        await conn.execute(_SHIFT, {"seconds": seconds, "id": person.id})


async def _refusal(c: DeleteClient, data: dict[str, object]) -> ClientError:
    with pytest.raises(ClientError) as info:
        await c.call("me.update", data)
    assert info.value.code == "rate_limited"
    return info.value


async def test_ten_changes_an_hour_then_rate_limited(server: RunningServer, engine: AsyncEngine) -> None:
    """The 11th change of cell within an hour is refused with retry_after_s; it works once the hour has passed."""
    place = somewhere()
    person = await make_person(engine, location=place)
    async with _client(server, person) as c:
        for step in range(1, 11):
            await c.call("me.update", {"location": _location(north_of(place, 1.5 * step))})
        await _wait(engine, person, 600)  # the first change is now 10 minutes old
        error = await _refusal(c, {"location": _location(north_of(place, 20)), "bio": "Moving on."})
        assert 3000 - 5 <= error.details["retry_after_s"] <= 3000 + 5, error.details
        user = (await c.call("me.get"))["user"]
        assert (user["location"]["lat"], user["bio"]) == (snap(*north_of(place, 15))[0], "")  # nothing written
        await _wait(engine, person, error.details["retry_after_s"])
        user = (await c.call("me.update", {"location": _location(north_of(place, 20))}))["user"]
    assert user["location"] == _location(snap(*north_of(place, 20)))


async def test_the_same_cell_again_is_never_limited(server: RunningServer, engine: AsyncEngine) -> None:
    """An app that sends its GPS fix (a few metres off each time) on every launch is never refused."""
    place = somewhere()
    person = await make_person(engine, location=place)
    centre = snap(*place)
    async with _client(server, person) as c:
        for i in range(25):
            jitter = (centre[0] + 0.00002 * (i % 5 - 2), centre[1] - 0.00002 * (i % 3 - 1))
            user = (await c.call("me.update", {"location": _location(jitter)}))["user"]
            assert user["location"] == _location(centre)
    async with engine.connect() as conn:
        moves = (await conn.execute(text("SELECT cardinality(location_moves) FROM users WHERE id = :id"),
                                    {"id": person.id})).scalar_one()
    assert moves == 0


async def test_travel_faster_than_1000_kmh_is_refused(server: RunningServer, engine: AsyncEngine) -> None:
    """500 km a minute after the previous change is refused until 500 km at 1,000 km/h is plausible."""
    place = (48.0, 5.0)
    person = await make_person(engine, location=None)
    far = north_of(place, 500)
    async with _client(server, person) as c:
        await c.call("me.update", {"location": _location(place)})  # a first location: nothing to compare with
        await _wait(engine, person, 60)
        error = await _refusal(c, {"location": _location(far)})
        assert "1000 km/h" in error.message
        # (500 km - 3 km of slack) at 1,000 km/h is 29.8 minutes; one of them has passed
        expected = (500 - 3) / 1000 * 3600 - 60
        assert abs(error.details["retry_after_s"] - expected) <= 10, error.details
        await c.call("me.update", {"location": _location(north_of(place, 1.9))})  # next door is fine at once
        await _wait(engine, person, 1800)
        user = (await c.call("me.update", {"location": _location(far)}))["user"]
    assert user["location"] == _location(snap(*far))


async def test_clearing_counts_and_a_first_location_is_free(server: RunningServer, engine: AsyncEngine) -> None:
    """Clearing the location is a change; setting one after a clear is not compared with the old place."""
    place = somewhere()
    person = await make_person(engine, location=place)
    async with _client(server, person) as c:
        for _ in range(5):
            await c.call("me.update", {"location": None})
            user = (await c.call("me.update", {"location": _location(place)}))["user"]
            assert user["location"] == _location(snap(*place))
        await _refusal(c, {"location": None})
