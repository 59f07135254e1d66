"""A plain message and a read receipt are one round trip each: ``delete_send_message`` and ``delete_mark_read``
store them and both members' events in a call that is its own transaction. The migration holds the functions
the code defines, the database writes a message's time exactly as the wire does, and what is published live
is what the event log replays."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from delete_api.database import make_sessionmaker
from domain.chat import server_functions
from domain.chat.one_call import mark_read_alone, send_alone
from domain.errors import Conflict, NotFound
from domain.events.log import EventLog
from domain.read_sessions import ReadSessions
from domain.safety.patterns import WordList
from domain.wire.scalars import rfc3339
from tests.chat.conftest import make_pair
from tests.social.support import scalar
from tests.support.factory import make_person
from tests.support.locks import until_waiting_for_a_lock
from tests.support.migrations import migrations_naming
from tests.support.publishing import Recorder, kept_lane, published_as_logged
from tests.support.statements import round_trips


def test_the_newest_migration_creates_the_functions_the_code_defines() -> None:
    assert server_functions.definitions() == migrations_naming(server_functions.SEND)[-1].DEFINITIONS, (
        "a chat function changed: add a migration that runs domain.chat.server_functions.definitions()")


@pytest.mark.parametrize("name", sorted(server_functions.BODIES))
async def test_the_database_runs_the_functions_the_code_defines(engine: AsyncEngine, name: str) -> None:
    body = await scalar(engine, "SELECT prosrc FROM pg_proc WHERE proname = :name", name=name)
    assert body == server_functions.BODIES[name]


@pytest.mark.parametrize("moment", [
    datetime(2026, 12, 5, 22, 0, 0, tzinfo=UTC),  # no fraction: Python writes none
    datetime(2026, 12, 5, 22, 0, 0, 1, tzinfo=UTC),
    datetime(2026, 1, 2, 3, 4, 5, 999999, tzinfo=UTC),
    datetime(2026, 6, 30, 23, 59, 59, 120000, tzinfo=timezone(timedelta(hours=-7))),  # another day in UTC
    datetime(1999, 12, 31, 23, 0, 0, 500, tzinfo=timezone(timedelta(hours=5, minutes=30))),
], ids=["whole-second", "one-microsecond", "last-microsecond", "offset-crosses-midnight", "half-hour-offset"])
async def test_the_database_writes_a_time_as_the_wire_does(engine: AsyncEngine, moment: datetime) -> None:
    async with engine.connect() as conn:
        written = (await conn.execute(text(f"SELECT {server_functions.RFC3339}(:at)"), {"at": moment})).scalar_one()
    assert written == rfc3339(moment)


async def _send(reads: ReadSessions, events: EventLog, sender: uuid.UUID, match_id: uuid.UUID, body: str,
                key: str) -> dict[str, object] | None:
    reply = await send_alone(reads.fetch_alone, events, sender, match_id, body, key, WordList())
    return dict(reply) if reply is not None else None


async def test_a_plain_message_is_one_round_trip_and_the_log_replays_what_was_published(engine: AsyncEngine) -> None:
    pair = await make_pair(engine)
    recorder = Recorder()
    events = EventLog(recorder, "test:")
    async with kept_lane(engine) as reads:
        with round_trips(engine) as seen:
            reply = await _send(reads, events, pair.a.id, pair.match_id, 'Say "hi" \u00e9 \U0001f600', "k-1")
        assert seen == Counter({"SELECT": 1}), seen  # no BEGIN, no lock of its own, no COMMIT
    assert reply is not None
    message = reply["message"]
    assert isinstance(message, dict)
    stored_at = await scalar(engine, "SELECT created_at FROM messages WHERE id = :id", id=uuid.UUID(message["id"]))
    assert message["created_at"] == rfc3339(stored_at) and message["body"] == 'Say "hi" \u00e9 \U0001f600'
    members = sorted((pair.a.id, pair.b.id))  # the match's user_a, then user_b: the order of every append
    assert [channel for channel, _ in recorder.sent] == [events.channel(member) for member in members]
    assert await published_as_logged(engine, recorder, members, "message.created") == [{"message": message}] * 2
    assert await scalar(engine, "SELECT last_message_at FROM matches WHERE id = :m", m=pair.match_id) == stored_at


async def test_a_retry_is_answered_from_the_stored_message_and_appends_nothing(engine: AsyncEngine) -> None:
    pair = await make_pair(engine)
    reads = ReadSessions(make_sessionmaker(engine))
    recorder = Recorder()
    events = EventLog(recorder, "test:")
    first = await _send(reads, events, pair.a.id, pair.match_id, "once", "k-1")
    again = await _send(reads, events, pair.a.id, pair.match_id, "once", "k-1")
    assert first == again and len(recorder.sent) == 2
    with pytest.raises(Conflict):  # the same key with another body is not a retry
        await _send(reads, events, pair.a.id, pair.match_id, "twice", "k-1")
    assert await scalar(engine, "SELECT count(*) FROM user_events WHERE type = 'message.created' AND user_id = :u",
                        u=pair.b.id) == 1


@pytest.mark.parametrize("state", ["unmatched", "deleted"])
async def test_a_closed_match_is_refused_and_stores_nothing(engine: AsyncEngine, state: str) -> None:
    pair = await make_pair(engine, state=state)
    reads = ReadSessions(make_sessionmaker(engine))
    with pytest.raises(Conflict):
        await _send(reads, EventLog(Recorder(), "test:"), pair.a.id, pair.match_id, "hello?", "k-1")
    assert await scalar(engine, "SELECT count(*) FROM messages WHERE match_id = :m", m=pair.match_id) == 0


async def test_a_stranger_gets_not_found(engine: AsyncEngine) -> None:
    pair = await make_pair(engine)
    stranger = await make_person(engine)
    reads = ReadSessions(make_sessionmaker(engine))
    with pytest.raises(NotFound):
        await _send(reads, EventLog(Recorder(), "test:"), stranger.id, pair.match_id, "hi", "k-1")


@pytest.mark.parametrize("body", ["call me on +1 415 555 0100", "still there?"], ids=["shielded", "archived"])
async def test_what_needs_the_transactional_path_is_left_to_it(engine: AsyncEngine, body: str) -> None:
    """A message contact shielding flags (its flags written with it), and one into an archived match (which it
    reactivates, with events of its own), are not sent here: None, and nothing stored."""
    pair = await make_pair(engine, state="archived" if body == "still there?" else "active")
    reads = ReadSessions(make_sessionmaker(engine))
    recorder = Recorder()
    assert await _send(reads, EventLog(recorder, "test:"), pair.a.id, pair.match_id, body, "k-1") is None
    assert recorder.sent == []
    assert await scalar(engine, "SELECT count(*) FROM messages WHERE match_id = :m", m=pair.match_id) == 0


async def _read(reads: ReadSessions, events: EventLog, reader: uuid.UUID, match_id: uuid.UUID,
                up_to: uuid.UUID) -> None:
    assert await mark_read_alone(reads.fetch_alone, events, reader, match_id, up_to) == {}


async def _position(engine: AsyncEngine, match_id: uuid.UUID, reader: uuid.UUID) -> object:
    return await scalar(engine, "SELECT up_to_message_id FROM match_reads WHERE match_id = :m AND user_id = :u",
                        m=match_id, u=reader)


async def test_a_read_receipt_is_one_round_trip_and_only_moves_forward(engine: AsyncEngine) -> None:
    pair = await make_pair(engine)
    recorder = Recorder()
    events = EventLog(recorder, "test:")
    async with kept_lane(engine) as reads:
        first = await _send(reads, events, pair.a.id, pair.match_id, "one", "k-1")
        second = await _send(reads, events, pair.a.id, pair.match_id, "two", "k-2")
        assert first is not None and second is not None
        first_id, second_id = (uuid.UUID(reply["message"]["id"]) for reply in (first, second))  # type: ignore[index]
        recorder.sent.clear()
        with round_trips(engine) as seen:
            await _read(reads, events, pair.b.id, pair.match_id, second_id)
        assert seen == Counter({"SELECT": 1}), seen
        await _read(reads, events, pair.b.id, pair.match_id, first_id)  # backwards: nothing written or told
    assert await _position(engine, pair.match_id, pair.b.id) == second_id
    members = sorted((pair.a.id, pair.b.id))
    assert [channel for channel, _ in recorder.sent] == [events.channel(member) for member in members]
    expected = {"match_id": str(pair.match_id), "reader_id": str(pair.b.id), "up_to": str(second_id)}
    assert await published_as_logged(engine, recorder, members, "message.read") == [expected] * 2


async def test_a_read_receipt_is_refused_where_the_transactional_path_refused_it(engine: AsyncEngine) -> None:
    """A stranger (no such match), a message of another match, and a blocked match: errors, nothing written."""
    pair, other = await make_pair(engine), await make_pair(engine)
    stranger = await make_person(engine)
    reads = ReadSessions(make_sessionmaker(engine))
    events = EventLog(Recorder(), "test:")
    elsewhere = await _send(reads, events, other.a.id, other.match_id, "elsewhere", "k-1")
    assert elsewhere is not None
    elsewhere_id = uuid.UUID(elsewhere["message"]["id"])  # type: ignore[index]
    here = await _send(reads, events, pair.a.id, pair.match_id, "here", "k-1")
    assert here is not None
    here_id = uuid.UUID(here["message"]["id"])  # type: ignore[index]
    with pytest.raises(NotFound, match="no such match"):
        await _read(reads, events, stranger.id, pair.match_id, here_id)
    with pytest.raises(NotFound, match="no such message"):
        await _read(reads, events, pair.b.id, pair.match_id, elsewhere_id)
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO blocks (blocker_id, blocked_id) VALUES (:a, :b)"),
                           {"a": pair.a.id, "b": pair.b.id})
    with pytest.raises(Conflict):
        await _read(reads, events, pair.b.id, pair.match_id, here_id)
    assert await _position(engine, pair.match_id, pair.b.id) is None


@pytest.mark.parametrize("change", ["unmatch", "block"])
async def test_a_match_closed_while_the_send_waits_for_its_lock_takes_no_message(engine: AsyncEngine,
                                                                                 change: str) -> None:
    """An unmatch or a block holds the match's row (as ``end_for_block`` does: its state updated, not yet
    committed) when the send arrives: the send waits for it, then sees the match closed and stores nothing."""
    pair = await make_pair(engine)
    reads = ReadSessions(make_sessionmaker(engine))
    recorder = Recorder()
    async with engine.connect() as other:
        if change == "block":
            await other.execute(text("INSERT INTO blocks (blocker_id, blocked_id) VALUES (:a, :b)"),
                                {"a": pair.b.id, "b": pair.a.id})
        await other.execute(text("UPDATE matches SET state = 'unmatched' WHERE id = :m"), {"m": pair.match_id})
        sending = asyncio.create_task(_send(reads, EventLog(recorder, "test:"), pair.a.id, pair.match_id, "hi", "k"))
        await until_waiting_for_a_lock(engine, "SELECT * FROM delete_send_message")
        await other.commit()
    with pytest.raises(Conflict):
        await asyncio.wait_for(sending, 10)
    assert recorder.sent == []
    assert await scalar(engine, "SELECT count(*) FROM messages WHERE match_id = :m", m=pair.match_id) == 0
