"""CONTRACT section 3 "Matches": listing, every allowed transition and every forbidden one, through the socket."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from delete_api.database import make_sessionmaker
from domain.events.log import EventLog
from domain.social import matches
from domain.transaction import unit_of_work
from domain.wire.events import MatchUpdated
from tests.social.support import error_code, execute, no_event, online, scalar
from tests.support.events import event_log
from tests.support.factory import Person, make_match, make_person
from tests.support.server import RunningServer
from tests.support.shapes import closed_match

COMMANDS = {"unmatch": ("match.unmatch", {"reason": "not_interested"}),
            "dating": ("match.dating", {}), "end_dating": ("match.end_dating", {})}


async def pair(engine: AsyncEngine, state: str = "active") -> tuple[Person, Person, str]:
    a, b = await make_person(engine, name="Ann"), await make_person(engine, name="Ben")
    return a, b, str(await make_match(engine, a, b, state=state))


async def state_of(engine: AsyncEngine, match_id: str) -> str:
    return str(await scalar(engine, "SELECT state FROM matches WHERE id = :m", m=uuid.UUID(match_id)))


async def test_unmatch_tells_both_and_the_reason_only_to_the_unmatcher(server: RunningServer,
                                                                      engine: AsyncEngine) -> None:
    """active -> unmatched: both get match.updated with by; only the unmatcher's devices see the reason."""
    a, b, match_id = await pair(engine)
    async with online(server, a, b) as (ca, cb):
        reply = await ca.call("match.unmatch", {"match_id": match_id, "reason": "met_offline"})
        assert reply == {"match_id": match_id, "state": "unmatched"}
        mine = (await ca.next_event("match.updated"))["data"]
        theirs = (await cb.next_event("match.updated"))["data"]
    closed_match(MatchUpdated, mine)
    assert mine == {"match_id": match_id, "state": "unmatched", "by": a.key, "reason": "met_offline"}
    assert theirs == {"match_id": match_id, "state": "unmatched", "by": a.key}
    assert await state_of(engine, match_id) == "unmatched"
    assert await scalar(engine, "SELECT unmatch_reason FROM matches WHERE id = :m",
                        m=uuid.UUID(match_id)) == "met_offline"


async def test_unmatch_reason_must_be_one_of_five(server: RunningServer, engine: AsyncEngine) -> None:
    """An unknown or missing unmatch reason is validation_error and changes nothing."""
    a, _, match_id = await pair(engine)
    async with online(server, a) as (ca,):
        for data in ({"match_id": match_id, "reason": "bored"}, {"match_id": match_id}):
            err = await error_code(ca, "match.unmatch", data)
            assert err.code == "validation_error" and err.details and "reason" in err.details["fields"]
    assert await state_of(engine, match_id) == "active"


async def test_dating_needs_both_confirmations(server: RunningServer, engine: AsyncEngine) -> None:
    """One confirmation keeps the match active (no event); the second makes it dating and tells both."""
    a, b, match_id = await pair(engine)
    async with online(server, a, b) as (ca, cb):
        first = await ca.call("match.dating", {"match_id": match_id})
        assert first == {"match_id": match_id, "state": "active", "dating_confirmed_by_me": True,
                         "dating_confirmed_by_them": False}
        assert await ca.call("match.dating", {"match_id": match_id}) == first  # confirming twice changes nothing
        await no_event(cb, "match.updated")
        listed = (await cb.call("matches.list"))["matches"][0]
        assert listed["dating_confirmed_by_them"] is True and listed["dating_confirmed_by_me"] is False
        second = await cb.call("match.dating", {"match_id": match_id})
        assert second["state"] == "dating" and second["dating_confirmed_by_them"] is True
        for client in (ca, cb):
            assert (await client.next_event("match.updated"))["data"] == {
                "match_id": match_id, "state": "dating", "by": b.key}
    assert await state_of(engine, match_id) == "dating"


async def test_end_dating_archives(server: RunningServer, engine: AsyncEngine) -> None:
    """dating -> archived by either member, told to both."""
    a, b, match_id = await pair(engine, state="dating")
    async with online(server, a, b) as (ca, cb):
        assert await cb.call("match.end_dating", {"match_id": match_id}) == {"match_id": match_id, "state": "archived"}
        for client in (ca, cb):
            assert (await client.next_event("match.updated"))["data"] == {
                "match_id": match_id, "state": "archived", "by": b.key}


ALLOWED = {("active", "unmatch"), ("active", "dating"), ("dating", "end_dating")}
FORBIDDEN = [(state, action) for state in ("active", "unmatched", "archived", "dating", "deleted")
             for action in COMMANDS if (state, action) not in ALLOWED]


@pytest.mark.parametrize(("state", "action"), FORBIDDEN)
async def test_forbidden_transitions_are_conflict(server: RunningServer, engine: AsyncEngine, state: str,
                                                  action: str) -> None:
    """Every command on a state that does not allow it is conflict and sends nothing."""
    a, b, match_id = await pair(engine, state=state)
    command, extra = COMMANDS[action]
    async with online(server, a, b) as (ca, cb):
        err = await error_code(ca, command, {"match_id": match_id, **extra})
        assert err.code == "conflict" and err.details == {"state": state}
        await no_event(cb, "match.updated", 0.1)
    assert await state_of(engine, match_id) == state


@pytest.mark.parametrize("action", ["unmatch", "dating", "end_dating"])
async def test_only_members_can_act_on_a_match(server: RunningServer, engine: AsyncEngine, action: str) -> None:
    """Someone outside the match, or an unknown match id, gets not_found."""
    _, _, match_id = await pair(engine, state="dating" if action == "end_dating" else "active")
    outsider = await make_person(engine)
    command, extra = COMMANDS[action]
    async with online(server, outsider) as (c,):
        for target in (match_id, str(uuid.uuid4())):
            assert (await error_code(c, command, {"match_id": target, **extra})).code == "not_found"


@pytest.fixture
async def server_events(server: RunningServer, redis_url: str) -> AsyncIterator[EventLog]:
    async with event_log(redis_url, server.settings.extra["redis_prefix"]) as log:
        yield log


async def test_message_reactivates_archived_match(server: RunningServer, engine: AsyncEngine,
                                                  server_events: EventLog) -> None:
    """archived -> active through reactivate_on_message (what chat calls on a new message), told to both."""
    a, b, match_id = await pair(engine, state="archived")
    await execute(engine, "UPDATE matches SET a_dating_confirmed_at = now() WHERE id = :m", m=uuid.UUID(match_id))
    async with online(server, a, b) as (ca, cb):
        async with unit_of_work(make_sessionmaker(engine)) as session:
            assert await matches.reactivate_on_message(session, server_events, uuid.UUID(match_id), b.id)
        for client in (ca, cb):
            assert (await client.next_event("match.updated"))["data"] == {
                "match_id": match_id, "state": "active", "by": b.key}
    assert await state_of(engine, match_id) == "active"
    assert await scalar(engine, "SELECT a_dating_confirmed_at FROM matches WHERE id = :m",
                        m=uuid.UUID(match_id)) is None
    async with unit_of_work(make_sessionmaker(engine)) as session:  # not archived any more: nothing to do
        assert not await matches.reactivate_on_message(session, server_events, uuid.UUID(match_id), b.id)


async def test_list_defaults_to_open_matches_newest_first(server: RunningServer, engine: AsyncEngine) -> None:
    """matches.list without states gives active, dating and archived matches, newest first, with cards."""
    me = await make_person(engine)
    now = datetime.now(UTC)
    made = {}
    for i, state in enumerate(["active", "dating", "archived", "unmatched", "deleted"]):
        other = await make_person(engine, name=f"P{i}")
        made[state] = str(await make_match(engine, me, other, state=state, matched_at=now - timedelta(hours=i)))
    async with online(server, me) as (c,):
        page = await c.call("matches.list")
        assert [m["id"] for m in page["matches"]] == [made["active"], made["dating"], made["archived"]]
        assert page["next_cursor"] is None
        item = page["matches"][0]
        assert set(item) == {"id", "state", "matched_at", "user", "last_message_at", "state_changed_at",
                             "dating_confirmed_by_me", "dating_confirmed_by_them", "unread_count", "last_message"}
        assert item["user"]["display_name"] == "P0" and item["last_message_at"] is None
        assert item["unread_count"] == 0 and item["last_message"] is None
        ended = await c.call("matches.list", {"states": ["unmatched", "deleted"]})
        assert [m["id"] for m in ended["matches"]] == [made["unmatched"], made["deleted"]]


async def test_list_pages_with_a_stable_cursor(server: RunningServer, engine: AsyncEngine) -> None:
    """limit and next_cursor walk every match once, even when a new match arrives between pages."""
    me = await make_person(engine)
    now = datetime.now(UTC)
    ids = [str(await make_match(engine, me, await make_person(engine), matched_at=now - timedelta(minutes=i)))
           for i in range(5)]
    seen: list[str] = []
    async with online(server, me) as (c,):
        page = await c.call("matches.list", {"limit": 2})
        seen += [m["id"] for m in page["matches"]]
        await make_match(engine, me, await make_person(engine))  # newer than everything listed
        while page["next_cursor"]:
            page = await c.call("matches.list", {"limit": 2, "cursor": page["next_cursor"]})
            seen += [m["id"] for m in page["matches"]]
    assert seen == ids


@pytest.mark.parametrize("data", [{"limit": 0}, {"limit": 51}, {"cursor": "garbage!"}, {"states": ["gone"]},
                                  {"states": []}])
async def test_list_input_is_validated(server: RunningServer, engine: AsyncEngine, data: dict[str, object]) -> None:
    """A limit outside 1-50, a cursor the server did not give out or an unknown state is validation_error."""
    me = await make_person(engine)
    async with online(server, me) as (c,):
        assert (await error_code(c, "matches.list", data)).code == "validation_error"
