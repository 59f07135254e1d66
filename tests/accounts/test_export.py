"""GET /v1/account/export: everything stored about the caller, nothing private of anyone else, once an hour."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest
from delete_client import DeleteClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.location.grid import snap
from domain.wire.export import AccountExport
from tests.accounts.support import bearer
from tests.security.support import Private, leaks_of, secrets_in
from tests.support.factory import Person, make_person
from tests.support.rest import assert_error
from tests.support.server import RunningServer
from tests.support.shapes import closed_match

NOTE = f"MODNOTE-{secrets.token_hex(6)}"
CAROLS_REPORT = f"CAROLSAYS-{secrets.token_hex(6)}"
ALICES_REPORT = f"ALICESAYS-{secrets.token_hex(6)}"
# name -> (birthdate, lat, lon, role); precise and far apart, as the data-exposure scan's people
PEOPLE = {
    "alice": ("1991-03-07", 45.46421, 9.19012, "user"),
    "bob": ("1993-08-21", 45.47933, 9.22377, "user"),
    "carol": ("1989-11-02", 45.44178, 9.15329, "user"),
    "dan": ("1990-06-15", 45.49512, 9.17143, "user"),
    "erin": ("1994-02-27", 45.45066, 9.24781, "user"),
    "mo": ("1985-09-12", 45.51234, 9.20456, "moderator"),
}


@dataclass
class Party:
    person: Person
    private: Private

    @property
    def id(self) -> str:
        return str(self.person.id)


async def make_party(engine: AsyncEngine, name: str) -> Party:
    birthdate, lat, lon, role = PEOPLE[name]
    person = await make_person(engine, name=name.title(), role=role, location=(lat, lon))
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE users SET birthdate = :b WHERE id = :u"),
                           {"b": date.fromisoformat(birthdate), "u": person.id})
    cell_lat, cell_lon = snap(lat, lon)  # the only location stored: what must not leak
    return Party(person, Private(name, person.email, birthdate, cell_lat, cell_lon))


@dataclass
class Scene:
    people: dict[str, Party]
    match_id: str
    export: httpx.Response


@pytest.fixture(scope="module")
async def scene(accounts_server: RunningServer, accounts_engine: AsyncEngine) -> AsyncIterator[Scene]:
    """Alice likes and matches Bob and they chat; Carol likes Alice; Alice passes Dan and reports Erin; Carol
    reports Alice and Mo warns her with a note. Then Alice exports."""
    people = {name: await make_party(accounts_engine, name) for name in PEOPLE}
    url = accounts_server.ws_url + "/v1/ws"
    clients = {name: DeleteClient(url, party.person.token, auto_resume=False) for name, party in people.items()}
    for client in clients.values():
        await client.connect()
    try:
        a, b, c, m = clients["alice"], clients["bob"], clients["carol"], clients["mo"]
        await a.call("like", {"user_id": people["bob"].id, "comment": "Your dog is great"})
        match_id = (await b.call("like", {"user_id": people["alice"].id, "comment": "So is yours"}))["match"]["id"]
        sent = await a.call("messages.send", {"match_id": match_id, "body": "Hi Bob!", "client_msg_id": "a1"})
        reply = await b.call("messages.send", {"match_id": match_id, "body": "Hi Alice!", "client_msg_id": "b1"})
        await b.call("messages.read", {"match_id": match_id, "up_to": sent["message"]["id"]})
        await a.call("messages.read", {"match_id": match_id, "up_to": reply["message"]["id"]})
        await c.call("like", {"user_id": people["alice"].id, "comment": "Hello from Carol"})
        await a.call("pass", {"user_id": people["dan"].id})
        await a.call("report", {"user_id": people["erin"].id, "reason": "spam", "details": ALICES_REPORT})
        report_id = (await c.call("report", {"user_id": people["alice"].id, "reason": "harassment",
                                             "details": CAROLS_REPORT}))["report_id"]
        await m.call("moderation.resolve", {"report_id": report_id, "action": "warn", "note": NOTE})
        await a.next_event("moderation.warning", timeout=10)
    finally:
        for client in clients.values():
            await client.close()
    async with httpx.AsyncClient(base_url=accounts_server.base_url, timeout=15) as http:
        export = await http.get("/v1/account/export", headers=bearer(people["alice"].person.token))
    yield Scene(people, match_id, export)


def document(scene: Scene) -> dict[str, Any]:
    body: dict[str, Any] = scene.export.json()
    return body


async def test_the_export_is_a_json_attachment_of_the_documented_shape(scene: Scene) -> None:
    assert scene.export.status_code == 200, scene.export.text
    assert scene.export.headers["content-type"] == "application/json"
    assert re.fullmatch(r'attachment; filename="delete-export-\d{4}-\d{2}-\d{2}\.json"',
                        scene.export.headers["content-disposition"])
    assert scene.export.headers["cache-control"] == "no-store"
    closed_match(AccountExport, document(scene))


async def test_the_export_holds_the_callers_data(scene: Scene) -> None:
    doc, people = document(scene), scene.people
    alice, bob, carol, dan, erin = (people[n].id for n in ("alice", "bob", "carol", "dan", "erin"))
    assert doc["format"] == "delete-export/1"
    assert doc["user"]["id"] == alice and doc["user"]["email"] == people["alice"].private.email
    assert doc["user"]["photos"] and all(p["url"].startswith("http") for p in doc["user"]["photos"])
    assert doc["user"]["quiz"] and set(doc["traits"]) == set(doc["user"]["quiz"])
    assert [(like["user_id"], like["comment"]) for like in doc["likes_sent"]] == [(bob, "Your dog is great")]
    assert {(like["user_id"], like["comment"]) for like in doc["likes_received"]} == {
        (bob, "So is yours"), (carol, "Hello from Carol")}
    assert [p["user_id"] for p in doc["passes"]] == [dan]
    [match] = doc["matches"]
    assert match["id"] == scene.match_id and match["user_id"] == bob and match["state"] == "active"
    assert match["user"]["user_id"] == bob and match["user"]["distance_km"] is None
    assert [(msg["sender_id"], msg["body"]) for msg in match["messages"]] == [(alice, "Hi Bob!"), (bob, "Hi Alice!")]
    assert match["read_up_to"] == match["messages"][1]["id"]
    assert [b["user_id"] for b in doc["blocks"]] == [erin]  # a report blocks too
    assert [(r["user_id"], r["reason"], r["details"]) for r in doc["reports"]] == [(erin, "spam", ALICES_REPORT)]
    [action] = doc["moderation_actions"]
    assert action["action"] == "warn" and set(action) == {"id", "action", "days", "details", "created_at"}
    types = [event["type"] for event in doc["events"]]
    assert {"like.received", "match.created", "message.created", "message.read", "moderation.warning"} <= set(types)
    assert [event["seq"] for event in doc["events"]] == sorted(event["seq"] for event in doc["events"])
    assert len(doc["logins"]) >= 1 and doc["daily_likes"][0]["count"] == 1


async def test_the_export_holds_nothing_private_of_anyone_else(scene: Scene) -> None:
    """No other person's email, birthdate or location; no hash or token; not the moderator's note or identity,
    nor the report made about the caller (its text or who made it)."""
    raw = scene.export.text
    people = scene.people
    problems = [leak for name, party in people.items() if name != "alice" for leak in leaks_of(raw, party.private)]
    assert not problems, problems
    assert not secrets_in(raw)
    assert NOTE not in raw and CAROLS_REPORT not in raw and people["mo"].id not in raw
    doc = document(scene)
    assert all(like["user_id"] != people["carol"].id or like["comment"] == "Hello from Carol"
               for like in doc["likes_received"])
    carol_mentions = json.dumps({k: v for k, v in doc.items() if k not in ("likes_received", "events")})
    assert people["carol"].id not in carol_mentions  # Carol shows up only as the liker she is to Alice
    # control: the scan finds Alice's own data, which is rightly there
    assert len(leaks_of(raw, people["alice"].private)) >= 3


async def test_one_export_an_hour(scene: Scene, accounts_server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=accounts_server.base_url, timeout=15) as http:
        again = await http.get("/v1/account/export", headers=bearer(scene.people["alice"].person.token))
        assert_error(again, 429, "rate_limited")
        assert 3500 <= int(again.headers["retry-after"]) <= 3600
        other = await http.get("/v1/account/export", headers=bearer(scene.people["bob"].person.token))
        assert other.status_code == 200  # the limit is per person
        assert_error(await http.get("/v1/account/export"), 401, "unauthorized")
