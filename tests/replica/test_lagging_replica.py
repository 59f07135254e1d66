"""Reads that tolerate lag come from the replica; writes and eligibility checks never do.

The replica's replay is paused (``pg_wal_replay_pause()``): from then on it lags by everything written, so
what a command answers shows where it read. History read while the replica lags misses the new message
the primary has, and has it once replay resumes; discovery never shows someone the viewer has just
blocked or passed although the lagging replica still finds them eligible.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from delete_client import DeleteClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from delete_api.database import make_sessionmaker
from domain.discovery import repository as discovery_repo
from domain.models import Message
from tests.discovery.support import candidate_at, request, somewhere, viewer_at
from tests.replica.conftest import Pair
from tests.support.factory import Person, make_match, make_person
from tests.support.server import RunningServer


def client(server: RunningServer, person: Person) -> DeleteClient:
    return DeleteClient(server.ws_url + "/v1/ws", person.token)


async def bodies(c: DeleteClient, match_id: uuid.UUID) -> list[str]:
    page = await c.call("messages.history", {"match_id": str(match_id)})
    return [m["body"] for m in page["messages"]]


async def messages_on(engine: AsyncEngine, match_id: uuid.UUID) -> int:
    async with engine.connect() as conn:
        stmt = select(func.count()).select_from(Message).where(Message.match_id == match_id)
        return int((await conn.execute(stmt)).scalar_one())


async def test_history_comes_from_the_replica_and_catches_up(pair: Pair, read_server: RunningServer,
                                                             primary_engine: AsyncEngine) -> None:
    a, b = await make_person(primary_engine, name="Alex"), await make_person(primary_engine, name="Blake")
    match_id = await make_match(primary_engine, a, b)
    async with client(read_server, a) as alex:
        await alex.call("messages.send", {"match_id": str(match_id), "body": "first", "client_msg_id": "m1"})
        async with pair.lagging():
            await alex.call("messages.send", {"match_id": str(match_id), "body": "second", "client_msg_id": "m2"})
            assert await messages_on(primary_engine, match_id) == 2
            assert await bodies(alex, match_id) == ["first"]
        await pair.caught_up()
        assert await bodies(alex, match_id) == ["second", "first"]


async def test_without_a_read_url_history_reads_the_primary(pair: Pair, primary_only_server: RunningServer,
                                                            primary_engine: AsyncEngine) -> None:
    a, b = await make_person(primary_engine, name="Alex"), await make_person(primary_engine, name="Blake")
    match_id = await make_match(primary_engine, a, b)
    async with client(primary_only_server, a) as alex, pair.lagging():
        await alex.call("messages.send", {"match_id": str(match_id), "body": "hello", "client_msg_id": "m1"})
        assert await bodies(alex, match_id) == ["hello"]


async def eligible_on(engine: AsyncEngine, viewer: Person, others: list[Person]) -> set[uuid.UUID]:
    async with make_sessionmaker(engine)() as session:
        pairs = await discovery_repo.eligible_pairs(session, [(viewer.id, o.id) for o in others], datetime.now(UTC))
    return {user_id for _, user_id in pairs}


async def test_discovery_never_shows_whom_the_viewer_just_blocked_or_passed(
        pair: Pair, read_server: RunningServer, primary_engine: AsyncEngine, replica_engine: AsyncEngine) -> None:
    place = somewhere()
    viewer = await viewer_at(primary_engine, place)
    blocked, passed, other = [await candidate_at(primary_engine, place, name=n) for n in ("Bo", "Pat", "Olive")]
    everyone = [blocked, passed, other]
    async with client(read_server, viewer) as c, pair.lagging():
        await c.call("block", {"user_id": blocked.key})
        await c.call("pass", {"user_id": passed.key})
        assert await eligible_on(replica_engine, viewer, everyone) == {p.id for p in everyone}  # the replica lags
        assert await eligible_on(primary_engine, viewer, everyone) == {other.id}
        batch = await request(c, 20)
    assert batch.ids == [other.key]
    assert batch.empty


async def test_discovery_fills_the_batch_past_people_the_replica_still_shows(
        pair: Pair, read_server: RunningServer, primary_engine: AsyncEngine) -> None:
    place = somewhere()
    viewer = await viewer_at(primary_engine, place)
    people = [await candidate_at(primary_engine, place, name=f"Cand{'abcdef'[i]}") for i in range(6)]
    async with client(read_server, viewer) as c, pair.lagging():
        for person in people[:4]:  # the replica's best three rows (a batch of 2 asks for 3) hold one of them
            await c.call("pass", {"user_id": person.key})
        batch = await request(c, 2)
    assert sorted(batch.ids) == sorted(p.key for p in people[4:])


async def test_a_match_and_message_newer_than_the_replica_never_answer_not_found(
        pair: Pair, read_server: RunningServer, primary_engine: AsyncEngine) -> None:
    a, b = await make_person(primary_engine, name="Alex"), await make_person(primary_engine, name="Blake")
    async with client(read_server, a) as alex, pair.lagging():
        match_id = await make_match(primary_engine, a, b)
        sent = await alex.call("messages.send", {"match_id": str(match_id), "body": "hi", "client_msg_id": "m1"})
        assert await bodies(alex, match_id) == []  # the page lags; the match itself is checked on the primary
        older = await alex.call("messages.history", {"match_id": str(match_id), "before": sent["message"]["id"]})
        assert older["messages"] == []


async def test_discovery_right_after_the_viewer_sets_their_location(
        pair: Pair, read_server: RunningServer, primary_engine: AsyncEngine) -> None:
    place = somewhere()
    viewer = await viewer_at(primary_engine, place, location=None)
    candidate = await candidate_at(primary_engine, place)
    async with client(read_server, viewer) as c, pair.lagging():
        await c.call("me.update", {"location": {"lat": place[0], "lon": place[1]}})
        batch = await request(c, 5)  # the replica has no location for the viewer yet: it finds nobody
    assert batch.ids == [candidate.key]
