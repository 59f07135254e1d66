"""A like is two round trips: the cards, then ``delete_like``, which locks, reads, checks, stores the like, the
match and the events in a call that is its own transaction. The function runs the statements the code builds
(the migration holds a copy), refuses exactly what the rules refuse with the transactional path's error,
sees what committed while it waited for a lock, and publishes what the event log replays."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from delete_api.database import make_sessionmaker
from domain.errors import DomainError
from domain.events.log import EventLog
from domain.photos.storage import LocalMediaStorage
from domain.read_sessions import ReadSessions
from domain.safety.patterns import Pattern, WordList
from domain.social import like_function, likes
from domain.social.like_alone import like_alone
from domain.social.locks import pair_lock_key
from domain.wire.replies import LikeReply
from domain.wire.scalars import rfc3339
from tests.social.support import COMMENT, comment, execute, scalar, seed_likes, set_daily_count, trace
from tests.support.factory import Person, make_person
from tests.support.locks import until_waiting_for_a_lock
from tests.support.migrations import migrations_naming
from tests.support.publishing import Recorder, kept_lane, published_as_logged
from tests.support.statements import round_trips


def test_the_newest_migration_creates_the_function_the_code_builds() -> None:
    definitions = [m.DEFINITION for m in migrations_naming(like_function.NAME) if hasattr(m, "DEFINITION")]
    assert definitions, "no migration creates the like function"
    assert definitions[-1] == like_function.definition(), (
        "a like statement changed: add a migration that runs domain.social.like_function.definition()")


async def test_the_database_runs_the_body_the_code_builds(engine: AsyncEngine) -> None:
    body = await scalar(engine, "SELECT prosrc FROM pg_proc WHERE proname = :name", name=like_function.NAME)
    assert body == like_function.BODY


def test_the_body_is_the_code_s_statements_with_every_parameter_named() -> None:
    body = like_function.BODY
    assert "INSERT INTO likes" in body and "INSERT INTO matches" in body and "INSERT INTO user_events" in body
    assert "$" not in body.replace("$function$", "")  # every parameter an argument or a variable


def _storage(tmp_path: Path) -> LocalMediaStorage:
    return LocalMediaStorage(tmp_path, "http://media.test")


async def _like(reads: ReadSessions, events: EventLog, tmp_path: Path, liker: Person, target: Person,
                text_: str | None = COMMENT, words: WordList | None = None) -> LikeReply | None:
    return await like_alone(reads.fetch_alone, events, _storage(tmp_path), words or WordList(), liker.id, target.id,
                            text_)


async def test_a_like_is_two_round_trips_and_the_log_replays_what_was_published(engine: AsyncEngine,
                                                                                tmp_path: Path) -> None:
    liker, target = await make_person(engine, name="Ada"), await make_person(engine, name="Bo")
    recorder = Recorder()
    events = EventLog(recorder, "test:")
    async with kept_lane(engine) as reads:
        with round_trips(engine) as seen:
            reply = await _like(reads, events, tmp_path, liker, target)
        assert seen == Counter({"SELECT": 2}), seen  # the cards, the call: no BEGIN, no lock of its own, no COMMIT
    assert reply is not None and reply["match"] is None and reply["likes_left_today"] == 9
    [received] = await published_as_logged(engine, recorder, [target.id], "like.received")
    assert received == {"like_id": reply["like_id"], "from": received["from"], "comment": COMMENT}  # type: ignore[index]
    assert received["from"]["user_id"] == str(liker.id) and received["from"]["display_name"] == "Ada"  # type: ignore[index]
    assert await scalar(engine, "SELECT comment FROM likes WHERE id = :id", id=uuid.UUID(reply["like_id"])) == COMMENT


async def test_a_like_back_makes_one_match_and_tells_both_with_the_other_s_card(engine: AsyncEngine,
                                                                               tmp_path: Path) -> None:
    ada, bo = await make_person(engine, name="Ada"), await make_person(engine, name="Bo")
    recorder = Recorder()
    events = EventLog(recorder, "test:")
    async with kept_lane(engine) as reads:
        await _like(reads, events, tmp_path, ada, bo)
        recorder.sent.clear()
        reply = await _like(reads, events, tmp_path, bo, ada, comment("back"))
    assert reply is not None and reply["match"] is not None
    match = reply["match"]
    matched_at = await scalar(engine, "SELECT matched_at FROM matches WHERE id = :id", id=uuid.UUID(match["id"]))
    assert match["matched_at"] == rfc3339(matched_at) and match["state"] == "active"
    assert match["user"]["user_id"] == str(ada.id)
    members = [bo.id, ada.id]  # published: the liker's, then the target's
    assert [channel for channel, _ in recorder.sent] == [events.channel(m) for m in members]
    logged = dict(zip(members, await published_as_logged(engine, recorder, members, "match.created"), strict=True))
    assert logged[bo.id] == {"match": match}
    assert logged[ada.id] == {"match": {**match, "user": logged[ada.id]["match"]["user"]}}  # type: ignore[index]
    assert logged[ada.id]["match"]["user"]["user_id"] == str(bo.id)  # type: ignore[index]


Setup = Callable[[AsyncEngine, Person, Person], Awaitable[Any]]


async def _nothing(engine: AsyncEngine, liker: Person, target: Person) -> None:
    return None


async def _daily_limit(engine: AsyncEngine, liker: Person, target: Person) -> None:
    await seed_likes(engine, liker, 5, comment_text=None)
    await set_daily_count(engine, liker, 10)


async def _five_this_minute(engine: AsyncEngine, liker: Person, target: Person) -> None:
    await seed_likes(engine, liker, 5, ago=timedelta(seconds=20))


async def _same_comment_twice(engine: AsyncEngine, liker: Person, target: Person) -> None:
    await seed_likes(engine, liker, 2, comment_text=COMMENT, ago=timedelta(hours=2))
    await seed_likes(engine, liker, 3, ago=timedelta(hours=2), comment_text=None)


async def _blocked(engine: AsyncEngine, liker: Person, target: Person) -> None:
    await execute(engine, "INSERT INTO blocks (blocker_id, blocked_id) VALUES (:a, :b)", a=target.id, b=liker.id)


async def _passed(engine: AsyncEngine, liker: Person, target: Person) -> None:
    await execute(engine, "INSERT INTO passes (passer_id, passee_id, expires_at) "
                          "VALUES (:a, :b, now() + interval '1 day')", a=liker.id, b=target.id)


async def _already_liked(engine: AsyncEngine, liker: Person, target: Person) -> None:
    await execute(engine, "INSERT INTO likes (id, liker_id, likee_id) VALUES (:id, :a, :b)",
                  id=uuid.uuid4(), a=liker.id, b=target.id)


async def _suspended_liker(engine: AsyncEngine, liker: Person, target: Person) -> None:
    await execute(engine, "UPDATE users SET status = 'suspended', suspended_until = now() + interval '1 day' "
                          "WHERE id = :a", a=liker.id)


async def _banned_target(engine: AsyncEngine, liker: Person, target: Person) -> None:
    await execute(engine, "UPDATE users SET status = 'banned' WHERE id = :b", b=target.id)


@pytest.mark.parametrize(("setup", "text_", "code"), [
    (_nothing, None, "comment_required"),  # the first five likes need a comment
    (_nothing, "too short", "comment_required"),
    (_daily_limit, None, "daily_limit_reached"),
    (_five_this_minute, comment("fast"), "rate_limited"),
    (_same_comment_twice, COMMENT, "spam_detected"),
    (_same_comment_twice, "short", "validation_error"),  # past the first five, a comment still has 10-500
    (_blocked, COMMENT, "not_found"),
    (_passed, COMMENT, "not_found"),
    (_banned_target, COMMENT, "not_found"),
    (_already_liked, COMMENT, "conflict"),
    (_suspended_liker, COMMENT, "unauthorized"),
], ids=["no-comment", "short-comment", "daily-limit", "velocity", "spam", "short-later", "blocked", "passed",
        "banned", "liked-before", "suspended-liker"])
async def test_a_refused_like_gets_the_transactional_path_s_error_and_writes_nothing(
        engine: AsyncEngine, tmp_path: Path, setup: Setup, text_: str | None, code: str) -> None:
    liker, target = await make_person(engine), await make_person(engine)
    await setup(engine, liker, target)
    before = await trace(engine, liker, target)
    recorder = Recorder()
    reads = ReadSessions(make_sessionmaker(engine))
    with pytest.raises(DomainError) as alone:
        await _like(reads, EventLog(recorder, "test:"), tmp_path, liker, target, text_)
    async with make_sessionmaker(engine)() as session:  # the transactional path on the same state, rolled back
        with pytest.raises(DomainError) as transactional:
            await likes.like(session, EventLog(Recorder(), "test:"), _storage(tmp_path), liker.id, target.id,
                             text_)
        await session.rollback()
    assert alone.value.code == code
    assert (alone.value.code, alone.value.details) == (transactional.value.code, transactional.value.details)
    assert await trace(engine, liker, target) == before and recorder.sent == []


async def test_a_comment_the_word_filter_flags_is_left_to_the_transactional_path(engine: AsyncEngine,
                                                                               tmp_path: Path) -> None:
    """A flagged comment files a report beside the like: not in one call. None, and nothing written."""
    liker, target = await make_person(engine), await make_person(engine)
    words = WordList([Pattern(uuid.uuid4(), "hiking", "flag")])
    recorder = Recorder()
    reads = ReadSessions(make_sessionmaker(engine))
    before = await trace(engine, liker, target)
    assert await _like(reads, EventLog(recorder, "test:"), tmp_path, liker, target, COMMENT, words) is None
    assert await trace(engine, liker, target) == before and recorder.sent == []


async def test_two_people_liking_each_other_at_once_make_exactly_one_match(engine: AsyncEngine,
                                                                         tmp_path: Path) -> None:
    for _ in range(5):
        ada, bo = await make_person(engine), await make_person(engine)
        recorder = Recorder()
        events = EventLog(recorder, "test:")
        reads = ReadSessions(make_sessionmaker(engine))
        replies = await asyncio.gather(_like(reads, events, tmp_path, ada, bo, comment("a")),
                                       _like(reads, events, tmp_path, bo, ada, comment("b")))
        assert sum(1 for reply in replies if reply is not None and reply["match"] is not None) == 1, replies
        assert await scalar(engine, "SELECT count(*) FROM matches WHERE user_a IN (:a, :b) AND user_b IN (:a, :b)",
                            a=ada.id, b=bo.id) == 1
        types = Counter(message.decode().split('"type":"', 1)[1].split('"', 1)[0] for _, message in recorder.sent)
        assert types == Counter({"like.received": 1, "match.created": 2}), types


async def test_a_block_committed_while_the_like_waits_for_the_pair_lock_is_seen(engine: AsyncEngine,
                                                                             tmp_path: Path) -> None:
    """A block holds the pair's lock (as ``blocks.block`` does) when the like arrives; once it commits the like
    must see it: not_found and nothing written. The function reads the target after its locks, in a snapshot
    of its own; read in the locking statement's snapshot it would store a like on someone who blocked."""
    liker, target = await make_person(engine), await make_person(engine)
    reads = ReadSessions(make_sessionmaker(engine))

    async def like() -> object:
        return await _like(reads, EventLog(Recorder(), "test:"), tmp_path, liker, target)

    async with engine.connect() as blocker:
        await blocker.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": pair_lock_key(liker.id, target.id)})
        await blocker.execute(text("INSERT INTO blocks (blocker_id, blocked_id) VALUES (:a, :b)"),
                              {"a": target.id, "b": liker.id})
        liking = asyncio.create_task(like())
        await until_waiting_for_a_lock(engine, "SELECT * FROM delete_like")
        await blocker.commit()
    [outcome] = await asyncio.gather(liking, return_exceptions=True)
    assert isinstance(outcome, DomainError) and outcome.code == "not_found", outcome
    assert await scalar(engine, "SELECT count(*) FROM likes WHERE liker_id = :a", a=liker.id) == 0
