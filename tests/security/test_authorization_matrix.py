"""Issue 7, object-level authorisation: B acting on A's objects gets not_found or forbidden, and nothing changes.

The socket rows are generated from ``REGISTRY.commands``: every field of a command's input model that names a
stored object (``*_id``, ``up_to``, ``before``) is one row, and a row without an entry in ``MATRIX`` fails. An
entry builds the request from a fresh world of A's objects and says what B must get: ``not_found``,
``forbidden``, or ``allowed`` when acting on another person is the point of the command (like, pass, block,
report, badges, compatibility) — then it names the only sections of A's rows the action is meant to change.
The REST rows are generated from ``rest/openapi.py:OPERATIONS`` the same way (every path with an id).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from delete_client import ClientError, DeleteClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from realtime.registry import REGISTRY
from rest.openapi import OPERATIONS
from tests.moderation.support import make_report, moderator
from tests.security.support import (
    REFERENCE_NAMES,
    RecordingClient,
    auth_header,
    changed_sections,
    check_reply_data,
    execute,
    scalar,
    snapshot,
    ws_url,
)
from tests.support.factory import Person, make_match, make_person
from tests.support.server import RunningServer

NOTE = "checked by the security suite"


def is_reference(name: str) -> bool:
    return name in REFERENCE_NAMES or name.endswith("_id")


def reference_fields() -> list[tuple[str, str]]:
    """Every (command, field) whose field names a stored object, from the registry."""
    return sorted((type_, name) for type_, command in REGISTRY.commands.items()
                  for name in command.model.model_fields if is_reference(name))


def rest_references() -> list[tuple[str, str]]:
    """Every REST operation whose path carries an object id."""
    return sorted((op.method, op.path) for op in OPERATIONS if "{" in op.path)


# -- A's world ---------------------------------------------------------------------------------------------------

@dataclass
class World:
    """A with an active match (C), a dating match (E), messages, photos, prompt answers and a report; B with D."""

    a: Person
    b: Person
    c: Person
    e: Person
    d: Person
    match_ac: uuid.UUID
    match_ae: uuid.UUID
    match_bd: uuid.UUID
    a_message: uuid.UUID
    a_message_body: str
    a_message_cmid: str
    a_photo: uuid.UUID
    a_prompt: str
    a_report: uuid.UUID  # A reported C

    def watched(self) -> list[Person]:
        """Whose rows must not change: A, and the partners whose match with A is A's object too."""
        return [self.a, self.c, self.e]


async def _message(engine: AsyncEngine, match_id: uuid.UUID, sender: Person, body: str, cmid: str) -> uuid.UUID:
    message_id = uuid.uuid4()
    await execute(engine, "INSERT INTO messages (id, match_id, sender_id, body, client_msg_id) "
                          "VALUES (:i, :m, :s, :b, :c)", i=message_id, m=match_id, s=sender.id, b=body, c=cmid)
    await execute(engine, "UPDATE matches SET last_message_at = now() WHERE id = :m", m=match_id)
    return message_id


async def build_world(engine: AsyncEngine) -> World:
    a, b = await make_person(engine, name="Alice", photos=2), await make_person(engine, name="Bob")
    c, e, d = (await make_person(engine, name="Carol"), await make_person(engine, name="Erin"),
               await make_person(engine, name="Dan"))
    match_ac, match_ae = await make_match(engine, a, c), await make_match(engine, a, e, state="dating")
    match_bd = await make_match(engine, b, d)
    body, cmid = "Alice's private words", f"alice-{secrets.token_hex(4)}"
    a_message = await _message(engine, match_ac, a, body, cmid)
    c_message = await _message(engine, match_ac, c, "Carol answers", "carol-1")
    await _message(engine, match_bd, d, "Dan to Bob", "dan-1")
    await execute(engine, "INSERT INTO match_reads (match_id, user_id, up_to_message_id, up_to_at) "
                          "SELECT :m, :u, id, created_at FROM messages WHERE id = :i", m=match_ac, u=a.id, i=c_message)
    prompts = await _prompt_ids(engine)
    for prompt_id in prompts[:2]:
        await execute(engine, "INSERT INTO prompt_answers (user_id, prompt_id, answer) VALUES (:u, :p, 'mine')",
                      u=a.id, p=prompt_id)
    a_photo = await scalar(engine, "SELECT id FROM photos WHERE user_id = :u ORDER BY position LIMIT 1", u=a.id)
    a_report = await make_report(engine, a, c, reason="harassment", details="Carol was rude")
    return World(a, b, c, e, d, match_ac, match_ae, match_bd, a_message, body, cmid, a_photo, prompts[0], a_report)


async def _prompt_ids(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        return [r[0] for r in (await conn.execute(text("SELECT id FROM prompts ORDER BY position"))).all()]


# -- the matrix ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    """What B sends (built from A's world) and what must happen."""

    expect: str  # "not_found", "forbidden" or "allowed"
    data: Callable[[World], dict[str, Any]]
    may_change: frozenset[str] = frozenset()  # allowed rows: the sections of A's rows the action is meant to change
    prepare: Callable[[AsyncEngine, World], Awaitable[None]] | None = None
    check: Callable[[World, dict[str, Any]], None] | None = None
    oracle: bool = True  # not_found rows: an unknown id must get the very same answer (no existence oracle)
    watch_a: bool = False  # A is online and must receive nothing (ephemeral effects are not in the tables)


def _s(value: uuid.UUID) -> str:
    return str(value)


async def _a_passes_b(engine: AsyncEngine, w: World) -> None:
    await execute(engine, "INSERT INTO passes (passer_id, passee_id, expires_at) "
                          "VALUES (:a, :b, now() + interval '30 days')", a=w.a.id, b=w.b.id)


def _bob_got_his_own_message(w: World, reply: dict[str, Any]) -> None:
    message = reply["message"]
    assert message["id"] != str(w.a_message), "B's send returned A's stored message"
    assert (message["sender_id"], message["match_id"]) == (str(w.b.id), str(w.match_bd))


def _bob_sees_only_his_answer(w: World, reply: dict[str, Any]) -> None:
    assert [(p["prompt_id"], p["answer"]) for p in reply["prompts"]] == [(w.a_prompt, "Bob's own answer")]


def _no_match_made(w: World, reply: dict[str, Any]) -> None:
    assert reply["match"] is None


def _forbidden_moderation(data: Callable[[World], dict[str, Any]]) -> Row:
    return Row("forbidden", data)


def _remove_photo(w: World) -> dict[str, Any]:
    return {"user_id": _s(w.a.id), "photo_id": _s(w.a_photo), "note": NOTE, "report_id": _s(w.a_report)}


def _remove_prompt(w: World) -> dict[str, Any]:
    return {"user_id": _s(w.a.id), "prompt_id": w.a_prompt, "note": NOTE, "report_id": _s(w.a_report)}


MATRIX: dict[tuple[str, str], Row] = {
    # chat: only the two members of a match, and only messages of that match
    ("messages.send", "match_id"): Row("not_found", lambda w: {
        "match_id": _s(w.match_ac), "body": "let me in", "client_msg_id": uuid.uuid4().hex}),
    ("messages.send", "client_msg_id"): Row("allowed", lambda w: {
        "match_id": _s(w.match_bd), "body": w.a_message_body, "client_msg_id": w.a_message_cmid},
        check=_bob_got_his_own_message),
    ("messages.history", "match_id"): Row("not_found", lambda w: {"match_id": _s(w.match_ac)}),
    ("messages.history", "before"): Row("not_found", lambda w: {"match_id": _s(w.match_bd),
                                                                "before": _s(w.a_message)}),
    ("messages.read", "match_id"): Row("not_found", lambda w: {"match_id": _s(w.match_ac),
                                                               "up_to": _s(w.a_message)}),
    ("messages.read", "up_to"): Row("not_found", lambda w: {"match_id": _s(w.match_bd), "up_to": _s(w.a_message)}),
    ("typing", "match_id"): Row("not_found", lambda w: {"match_id": _s(w.match_ac)}, watch_a=True),
    # matches: only members
    ("match.unmatch", "match_id"): Row("not_found", lambda w: {"match_id": _s(w.match_ac), "reason": "other"}),
    ("match.dating", "match_id"): Row("not_found", lambda w: {"match_id": _s(w.match_ac)}),
    ("match.end_dating", "match_id"): Row("not_found", lambda w: {"match_id": _s(w.match_ae)}),
    # acting on another person is the point: allowed, and only the named part of A's rows may change
    ("like", "user_id"): Row("allowed", lambda w: {"user_id": _s(w.a.id), "comment": "Lovely profile, coffee?"},
                             may_change=frozenset({"likes_received", "events"}), check=_no_match_made),
    ("pass", "user_id"): Row("allowed", lambda w: {"user_id": _s(w.a.id)}, may_change=frozenset({"passes_on"})),
    ("pass.undo", "user_id"): Row("not_found", lambda w: {"user_id": _s(w.a.id)}, prepare=_a_passes_b),
    ("block", "user_id"): Row("allowed", lambda w: {"user_id": _s(w.a.id)}, may_change=frozenset({"blocks"})),
    ("report", "user_id"): Row("allowed", lambda w: {"user_id": _s(w.a.id), "reason": "spam", "details": "bot?"},
                               may_change=frozenset({"blocks", "reports"})),  # the reported person is told nothing
    ("badges.list", "user_id"): Row("allowed", lambda w: {"user_id": _s(w.a.id)}),
    ("compatibility.get", "user_id"): Row("allowed", lambda w: {"user_id": _s(w.a.id)}),
    # prompts are catalogue ids: B answering one A answered touches only B; B cannot delete A's answer
    ("prompts.answer", "prompt_id"): Row("allowed", lambda w: {"prompt_id": w.a_prompt, "answer": "Bob's own answer"},
                                         check=_bob_sees_only_his_answer),
    ("prompts.delete", "prompt_id"): Row("not_found", lambda w: {"prompt_id": w.a_prompt}, oracle=False),
    # moderator-only commands with a normal user's token
    ("moderation.user", "user_id"): _forbidden_moderation(lambda w: {"user_id": _s(w.a.id)}),
    ("moderation.resolve", "report_id"): _forbidden_moderation(lambda w: {
        "report_id": _s(w.a_report), "action": "ban", "note": NOTE}),
    ("moderation.remove_photo", "user_id"): _forbidden_moderation(_remove_photo),
    ("moderation.remove_photo", "photo_id"): _forbidden_moderation(_remove_photo),
    ("moderation.remove_photo", "report_id"): _forbidden_moderation(_remove_photo),
    ("moderation.remove_prompt", "user_id"): _forbidden_moderation(_remove_prompt),
    ("moderation.remove_prompt", "prompt_id"): _forbidden_moderation(_remove_prompt),
    ("moderation.remove_prompt", "report_id"): _forbidden_moderation(_remove_prompt),
    # user search and decisions without a report (moderator-only): B cannot find A, nor act on A
    ("moderation.search", "query"): _forbidden_moderation(lambda w: {"query": w.a.email}),
    ("moderation.act", "user_id"): _forbidden_moderation(lambda w: {
        "user_id": _s(w.a.id), "action": "ban", "note": NOTE}),
    # photo review (moderator-only): a normal user cannot reject A's photo, nor approve it
    ("moderation.photos.review", "photo_id"): _forbidden_moderation(lambda w: {
        "photo_id": _s(w.a_photo), "decision": "reject", "reason": "nudity"}),
    # the content filter's word list (moderator-only): a normal user cannot take a pattern off it
    ("moderation.words.remove", "id"): _forbidden_moderation(lambda w: {"id": _s(uuid.uuid4())}),
}


# moderator commands whose input names no stored object (so they have no MATRIX row), and why
NAMES_NO_OBJECT: dict[str, str] = {
    "moderation.photos.subscribe": "order and limit shape the snapshot of the queue",
    "moderation.words.add": "pattern and action name no stored object (refused by role: tests/moderation)",
}


Snapshots = dict[uuid.UUID, dict[str, list[tuple[Any, ...]]]]


async def snapshots(engine: AsyncEngine, people: list[Person]) -> Snapshots:
    return {p.id: await snapshot(engine, p.id) for p in people}


def assert_unchanged(before: Snapshots, after: Snapshots, a: Person, may_change: frozenset[str] = frozenset()) -> None:
    for person_id, rows in before.items():
        allowed = may_change if person_id == a.id else frozenset()
        changed = changed_sections(rows, after[person_id])
        assert changed <= allowed, f"rows of {'A' if person_id == a.id else person_id} changed: {sorted(changed)}"


@asynccontextmanager
async def online(server: RunningServer, *people: Person) -> AsyncIterator[list[DeleteClient]]:
    async with AsyncExitStack() as stack:
        yield [await stack.enter_async_context(DeleteClient(ws_url(server), p.token, auto_resume=False))
               for p in people]


async def test_every_object_reference_has_a_matrix_row() -> None:
    """Every command field that names an object (generated from the registry) has a matrix row, and no row is stale."""
    generated = set(reference_fields())
    missing = sorted(generated - set(MATRIX))
    stale = sorted(set(MATRIX) - generated)
    assert not missing, f"add a MATRIX row for each of: {missing}"
    assert not stale, f"MATRIX rows for fields that no longer exist: {stale}"
    assert {c for c, _ in generated} >= {t for t, c in REGISTRY.commands.items()
                                         if c.role == "moderator" and c.model.model_fields} - set(NAMES_NO_OBJECT)


@pytest.mark.parametrize(("command", "field_name"), reference_fields())
async def test_b_acting_on_as_object(server: RunningServer, engine: AsyncEngine, command: str,
                                     field_name: str) -> None:
    """B naming A's object in a command gets not_found/forbidden (or, where that is the point, only the intended
    change), and none of A's rows or durable events change."""
    row = MATRIX.get((command, field_name))
    if row is None:
        pytest.fail(f"no MATRIX row for {command}.{field_name}")
    w = await build_world(engine)
    if row.prepare is not None:
        await row.prepare(engine, w)
    data = row.data(w)
    before = await snapshots(engine, w.watched())
    async with online(server, w.b) as (bob,), AsyncExitStack() as stack:
        alice = (await stack.enter_async_context(DeleteClient(ws_url(server), w.a.token, auto_resume=False))
                 if row.watch_a else None)
        if row.expect == "allowed":
            reply = await bob.call(command, data)
            check_reply_data(command, reply)
            if row.check is not None:
                row.check(w, reply)
        else:
            with pytest.raises(ClientError) as caught:
                await bob.call(command, data)
            assert caught.value.code == row.expect, caught.value
            if row.expect == "not_found" and row.oracle:
                unknown = await _error_for(bob, command, {**data, field_name: str(uuid.uuid4())})
                assert (unknown.code, unknown.message) == (caught.value.code, caught.value.message), \
                    "A's real object is answered differently from an unknown id"
        if alice is not None:
            await alice.call("ping")
            await asyncio.sleep(0.3)
            with pytest.raises(TimeoutError):
                event = await alice.next_event(timeout=0.01)
                pytest.fail(f"A received {event}")
    assert_unchanged(before, await snapshots(engine, w.watched()), w.a, row.may_change)


async def _error_for(client: DeleteClient, command: str, data: dict[str, Any]) -> ClientError:
    with pytest.raises(ClientError) as caught:
        await client.call(command, data)
    return caught.value


# -- moderators: ids must belong together ------------------------------------------------------------------------------

MISMATCHED: dict[str, tuple[str, Callable[[World], dict[str, Any]]]] = {
    "photo_of_another_user": ("moderation.remove_photo", lambda w: {
        "user_id": _s(w.c.id), "photo_id": _s(w.a_photo), "note": NOTE}),
    "prompt_of_another_user": ("moderation.remove_prompt", lambda w: {
        "user_id": _s(w.c.id), "prompt_id": w.a_prompt, "note": NOTE}),
    "report_about_another_user": ("moderation.remove_photo", lambda w: {
        "user_id": _s(w.a.id), "photo_id": _s(w.a_photo), "note": NOTE, "report_id": _s(w.a_report)}),
}


@pytest.mark.parametrize("case", sorted(MISMATCHED))
async def test_a_moderator_cannot_pair_one_users_content_with_another(server: RunningServer, engine: AsyncEngine,
                                                                      case: str) -> None:
    """A moderator removing content under the wrong user (or the wrong report) gets not_found; nothing changes."""
    w = await build_world(engine)
    mod = await moderator(engine)
    command, build = MISMATCHED[case]
    before = await snapshots(engine, w.watched())
    async with online(server, mod) as (desk,):
        assert (await _error_for(desk, command, build(w))).code == "not_found"
    assert_unchanged(before, await snapshots(engine, w.watched()), w.a)


# -- fields outside the model -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("extra", ["id", "user_id", "email"])
async def test_me_update_cannot_name_another_account(server: RunningServer, engine: AsyncEngine, extra: str) -> None:
    """me.update with another person's id or email is validation_error; neither account changes."""
    w = await build_world(engine)
    value = w.a.email if extra == "email" else str(w.a.id)
    before = await snapshots(engine, [w.a, w.b])
    async with online(server, w.b) as (bob,):
        error = await _error_for(bob, "me.update", {extra: value, "bio": "hijacked"})
        assert error.code == "validation_error" and extra in error.details["fields"]
        assert (await bob.call("me.get"))["user"]["id"] == str(w.b.id)
    assert_unchanged(before, await snapshots(engine, [w.a, w.b]), w.a)


# -- REST -------------------------------------------------------------------------------------------------------------

@dataclass
class RestRow:
    expect_status: int
    request: Callable[[httpx.AsyncClient, World, str], Awaitable[httpx.Response]]
    unknown: Callable[[httpx.AsyncClient, World], Awaitable[httpx.Response]] = field(repr=False)


REST_MATRIX: dict[tuple[str, str], RestRow] = {
    ("delete", "/v1/profile/photos/{photo_id}"): RestRow(
        404,
        lambda http, w, token: http.delete(f"/v1/profile/photos/{w.a_photo}", headers=auth_header(token)),
        lambda http, w: http.delete(f"/v1/profile/photos/{uuid.uuid4()}", headers=auth_header(w.b.token))),
}


async def test_every_rest_path_with_an_id_has_a_matrix_row() -> None:
    """Every REST operation whose path takes an id (generated from OPERATIONS) has a REST matrix row."""
    assert set(rest_references()) == set(REST_MATRIX)


@pytest.mark.parametrize(("method", "path"), rest_references())
async def test_b_acting_on_as_object_over_rest(http: httpx.AsyncClient, engine: AsyncEngine, method: str,
                                               path: str) -> None:
    """B naming A's object in a REST path gets the same 404 as for an unknown id; none of A's rows change."""
    row = REST_MATRIX.get((method, path))
    if row is None:
        pytest.fail(f"no REST_MATRIX row for {method.upper()} {path}")
    w = await build_world(engine)
    before = await snapshots(engine, w.watched())
    resp = await row.request(http, w, w.b.token)
    assert resp.status_code == row.expect_status, resp.text
    unknown = await row.unknown(http, w)
    assert (unknown.status_code, unknown.json()) == (resp.status_code, resp.json()), "an existence oracle"
    assert_unchanged(before, await snapshots(engine, w.watched()), w.a)
    # the owner can still act on it: the refusal was about B, not about the object
    assert (await row.request(http, w, w.a.token)).status_code < 300


async def test_the_photo_list_never_shows_someone_elses_photos(http: httpx.AsyncClient, engine: AsyncEngine) -> None:
    """GET /v1/profile/photos lists exactly the caller's own photos."""
    w = await build_world(engine)
    for person in (w.a, w.b):
        resp = await http.get("/v1/profile/photos", headers=auth_header(person.token))
        listed = {p["id"] for p in resp.json()["photos"]}
        async with engine.connect() as conn:
            own = {str(r[0]) for r in (await conn.execute(
                text("SELECT id FROM photos WHERE user_id = :u"), {"u": person.id})).all()}
        assert listed == own and listed


# -- positions that are not ids: a cursor and a replay start ---------------------------------------------------------

async def test_anothers_matches_cursor_pages_only_ones_own_matches(server: RunningServer, engine: AsyncEngine) -> None:
    """B paging matches.list with A's next_cursor sees only B's own matches, never A's."""
    w = await build_world(engine)
    async with online(server, w.a, w.b) as (alice, bob):
        page = await alice.call("matches.list", {"limit": 1, "states": ["active", "dating"]})
        assert page["next_cursor"] is not None
        for cursor in (page["next_cursor"], None):
            data: dict[str, Any] = {"states": ["active", "dating", "archived", "unmatched", "deleted"]}
            if cursor is not None:
                data["cursor"] = cursor
            listed = (await bob.call("matches.list", data))["matches"]
            assert {m["id"] for m in listed} <= {str(w.match_bd)}
            assert not {m["user"]["user_id"] for m in listed} & {str(w.a.id)}


async def test_sync_replays_only_ones_own_events(server: RunningServer, engine: AsyncEngine) -> None:
    """`sync {after: 0}` replays B's own durable events and none of A's."""
    w = await build_world(engine)
    async with online(server, w.c, w.a, w.e) as (carol, alice, erin):
        await carol.call("like", {"user_id": str(w.b.id), "comment": "Hello there, Bob!"})  # B's one event
        await erin.call("messages.send", {"match_id": str(w.match_ae), "body": "for Alice", "client_msg_id": "e1"})
        await alice.next_event("message.created")  # and A's
    b_events = await scalar(engine, "SELECT count(*) FROM user_events WHERE user_id = :u", u=w.b.id)
    bob = RecordingClient(ws_url(server), w.b.token, auto_resume=False)
    async with bob:
        assert await bob.call("sync", {"after": 0}) == {"last_seq": b_events}
    replayed = [json.loads(raw) for raw in bob.frames if '"seq"' in raw]
    assert [f["seq"] for f in replayed] == list(range(1, b_events + 1))
    assert not any("for Alice" in json.dumps(f) for f in replayed)
