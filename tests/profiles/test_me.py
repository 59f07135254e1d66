"""me.get and me.update over the socket (CONTRACT section 2 "Commands"), and the discovery change signal."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from delete_client import ClientError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.location.grid import snap
from domain.models import User
from tests.profiles.conftest import Signals, call, client, refused
from tests.support.factory import Person, make_person
from tests.support.photos import picture
from tests.support.server import RunningServer
from tests.support.users import auth_header

OWN_PROFILE_KEYS = {"id", "email", "display_name", "birthdate", "age", "bio", "gender", "interested_in", "age_min",
                    "age_max", "max_distance_km", "location", "role", "status", "created_at",
                    "email_verified"}
ME_KEYS = OWN_PROFILE_KEYS | {"photos", "prompts", "badges", "quiz", "discoverable"}


async def test_me_get_is_the_full_own_profile(server: RunningServer, engine: AsyncEngine) -> None:
    """me.get returns the own profile with id, photos, prompts, badges, quiz answers and discoverable."""
    answers = {"introvert_extrovert": 1, "planner_spontaneous": 3, "conflict_talk_space": 5,
               "together_alone_time": 2, "slow_quick_decisions": 4, "routine_novelty": 3}
    person = await make_person(engine, name="Noor", age=31, gender="nonbinary", interested_in=("woman",),
                               location=(48.85, 2.35), answers=answers, photos=2)
    async with client(server, person) as c:
        await c.call("prompts.answer", {"prompt_id": "green_flag", "answer": "Kind to waiters"})
        user = (await c.call("me.get"))["user"]
    assert set(user) == ME_KEYS
    assert user["id"] == person.key and user["email"] == person.email
    assert (user["display_name"], user["age"], user["gender"], user["interested_in"]) == (
        "Noor", 31, "nonbinary", ["woman"])
    assert user["location"] == dict(zip(("lat", "lon"), snap(48.85, 2.35), strict=True))  # the ~1 km cell's centre
    assert user["created_at"].endswith("Z")
    assert [p["position"] for p in user["photos"]] == [0, 1]
    assert set(user["photos"][0]) == {"id", "url", "thumb_url", "position", "width", "height"}
    assert user["prompts"] == [{"prompt_id": "green_flag", "text": "A green flag I look for",
                                "answer": "Kind to waiters"}]
    assert user["badges"] == ["introvert", "space_taker", "together", "decisive"]  # quiz order, no badge for 3s
    assert user["quiz"] == answers and list(user["quiz"]) == list(answers)
    assert user["discoverable"] is True
    assert "password_hash" not in user


@pytest.mark.parametrize("missing", [{"photos": 0}, {"answers": {}}, {"gender": None}, {"location": None},
                                     {"interested_in": ()}])
async def test_discoverable_false_without_each_requirement(server: RunningServer, engine: AsyncEngine,
                                                           missing: dict[str, Any]) -> None:
    """discoverable is false without a photo, a quiz, a gender, a location or anyone to be shown to."""
    person = await make_person(engine, **missing)
    user = (await call(server, person, "me.get"))["user"]
    assert user["discoverable"] is False
    if "answers" in missing:
        assert (user["quiz"], user["badges"]) == (None, [])


async def test_me_update_changes_and_persists(server: RunningServer, engine: AsyncEngine, person: Person) -> None:
    """me.update writes every editable field, replies with the full profile, and me.get shows the same."""
    patch = {"display_name": "  Robin ", "bio": "Climber.\nCook.", "gender": "man",
             "interested_in": ["nonbinary", "man"], "age_min": 30, "age_max": 45, "max_distance_km": 500,
             "location": {"lat": -33.87, "lon": 151.21}}
    async with client(server, person) as c:
        user = (await c.call("me.update", patch))["user"]
        assert set(user) == ME_KEYS
        assert user == (await c.call("me.get"))["user"]
    assert (user["display_name"], user["bio"], user["gender"]) == ("Robin", "Climber.\nCook.", "man")
    assert user["interested_in"] == ["man", "nonbinary"]
    assert (user["age_min"], user["age_max"], user["max_distance_km"]) == (30, 45, 500)
    cell = snap(-33.87, 151.21)
    assert user["location"] == {"lat": cell[0], "lon": cell[1]}  # only the ~1 km cell's centre is kept
    async with engine.connect() as conn:
        row = (await conn.execute(select(User.display_name, User.lat).where(User.id == person.id))).one()
    assert tuple(row) == ("Robin", cell[0])


async def test_null_location_and_gender_clear_them(server: RunningServer, person: Person) -> None:
    """location null and gender null clear them (and the profile stops being discoverable)."""
    user = (await call(server, person, "me.update", {"location": None, "gender": None}))["user"]
    assert (user["location"], user["gender"], user["discoverable"]) == (None, None, False)


@pytest.mark.parametrize("field", ["id", "email", "birthdate", "role", "status", "created_at", "age"])
async def test_read_only_fields_are_validation_errors(server: RunningServer, person: Person, field: str) -> None:
    """Sending a read-only field is a validation_error naming it, and nothing is changed."""
    err = await refused(server, person, "me.update", {field: "x", "display_name": "Changed"})
    assert err.code == "validation_error"
    assert err.details["fields"] == {field: "read-only"}
    assert (await call(server, person, "me.get"))["user"]["display_name"] == "Sam"


async def test_unknown_field_and_empty_update_are_validation_errors(server: RunningServer, person: Person) -> None:
    """An unknown field is named; an empty update is refused too."""
    err = await refused(server, person, "me.update", {"nickname": "x"})
    assert (err.code, err.details["fields"]) == ("validation_error", {"nickname": "unknown field"})
    err = await refused(server, person, "me.update", {})
    assert err.code == "validation_error" and set(err.details["fields"]) == {"data"}


@pytest.mark.parametrize(("patch", "field"), [
    ({"display_name": "x" * 51}, "display_name"),
    ({"display_name": "tab\there"}, "display_name"),
    ({"bio": "b" * 501}, "bio"),
    ({"gender": "other"}, "gender"),
    ({"interested_in": ["man", "man"]}, "interested_in"),
    ({"age_min": 17}, "age_min"),
    ({"age_max": 100}, "age_max"),
    ({"age_min": 51}, "age_min"),            # above the stored age_max (50)
    ({"max_distance_km": 501}, "max_distance_km"),
    ({"location": {"lat": 91, "lon": 0}}, "location.lat"),
    ({"location": {"lat": 0, "lon": 181}}, "location.lon"),
    ({"age_min": "25"}, "age_min"),          # strings are not numbers
    ({"age_min": True}, "age_min"),          # booleans are not numbers
    ({"location": {"lat": 1, "lon": 2, "alt": 3}}, "location.alt"),
])
async def test_bounds_are_enforced_on_the_socket(server: RunningServer, engine: AsyncEngine,
                                                 patch: dict[str, Any], field: str) -> None:
    """Every bound of me.update is a validation_error naming the field."""
    person = await make_person(engine, age_min=20, age_max=50)
    err = await refused(server, person, "me.update", patch)
    assert err.code == "validation_error"
    assert field in err.details["fields"], err.details


async def test_one_age_bound_is_checked_against_the_stored_other(server: RunningServer, engine: AsyncEngine) -> None:
    """Sending only age_min (or age_max) is checked against the stored other bound."""
    person = await make_person(engine, age_min=25, age_max=35)
    async with client(server, person) as c:
        user = (await c.call("me.update", {"age_min": 35}))["user"]
        assert (user["age_min"], user["age_max"]) == (35, 35)
        await c.call("me.update", {"age_min": 25})
        for patch, field in (({"age_min": 36}, "age_min"), ({"age_max": 24}, "age_max")):
            with pytest.raises(ClientError) as info:
                await c.call("me.update", patch)
            assert info.value.code == "validation_error"
            assert set(info.value.details["fields"]) == {field}
        user = (await c.call("me.update", {"age_min": 40, "age_max": 60}))["user"]
        assert (user["age_min"], user["age_max"]) == (40, 60)


async def test_update_announces_profile_change(server: RunningServer, person: Person, signals: Signals) -> None:
    """A successful me.update tells discovery the profile changed; a refused one announces nothing."""
    await refused(server, person, "me.update", {"max_distance_km": 0})
    assert person.key not in await signals.received(0.3)
    await call(server, person, "me.update", {"max_distance_km": 80})
    assert person.key in await signals.received(2, until=person.key)


async def test_quiz_and_photos_announce_profile_change(server: RunningServer, engine: AsyncEngine,
                                                       http: httpx.AsyncClient, signals: Signals) -> None:
    """quiz.submit, a photo upload and a photo deletion each tell discovery the profile changed."""
    person = await make_person(engine, photos=0, answers={})
    await call(server, person, "quiz.submit", {"answers": dict.fromkeys(
        ["introvert_extrovert", "planner_spontaneous", "conflict_talk_space", "together_alone_time",
         "slow_quick_decisions", "routine_novelty"], 2)})
    assert person.key in await signals.received(2, until=person.key)
    resp = await http.post("/v1/profile/photos", headers=auth_header(person.token),
                           files={"file": ("p.jpg", picture(), "image/jpeg")})
    assert resp.status_code == 201, resp.text
    assert person.key in await signals.received(2, until=person.key)
    assert (await call(server, person, "me.get"))["user"]["discoverable"] is True
    resp = await http.delete(f"/v1/profile/photos/{resp.json()['id']}", headers=auth_header(person.token))
    assert resp.status_code == 204
    assert person.key in await signals.received(2, until=person.key)
    assert (await call(server, person, "me.get"))["user"]["discoverable"] is False
