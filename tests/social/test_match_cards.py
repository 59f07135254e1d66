"""A like that makes a match: both ``match.created`` carry the other person's card, and its round trips are counted."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from domain.cards import load_cards, load_cards_for_pairs
from domain.events.log import EventLog
from domain.photos.storage import LocalMediaStorage
from domain.social import likes
from tests.social.support import COMMENT, comment
from tests.support.factory import make_person
from tests.support.statements import connection_of, statements_on

# The statements of a like back that makes a match: the liker's row lock, the target and pair locks with the
# clock, the target, the liker's counters, the like itself, the match, both cards (one query) and both
# match.created events (one statement). It was 9 while each card had its own query.
MUTUAL_LIKE_STATEMENTS = 8


class _Unpublished:
    """A publisher for a transaction that is rolled back: nothing is ever published."""

    async def publish(self, channel: str, message: bytes) -> None:
        raise AssertionError("nothing is published before commit")

    async def publish_many(self, messages: list[tuple[str, bytes]]) -> None:
        raise AssertionError("nothing is published before commit")


async def test_like_that_makes_a_match_sends_each_the_others_card_in_few_round_trips(
        session: AsyncSession, engine: AsyncEngine, tmp_path: Path) -> None:
    """The like back: each member's match.created carries the other's card as they see it, and the whole
    like runs at most MUTUAL_LIKE_STATEMENTS statements (both cards come from one query)."""
    alice = await make_person(engine, name="Alice", location=(52.52, 13.405))
    bob = await make_person(engine, name="Bob", location=(52.60, 13.30), answers={})
    events = EventLog(_Unpublished(), "test:")
    storage = LocalMediaStorage(tmp_path, "http://media.test")
    first = await likes.like(session, events, storage, alice.id, bob.id, COMMENT)
    assert first["match"] is None

    connection = await connection_of(session)
    with statements_on(engine, connection) as sent:
        reply = await likes.like(session, events, storage, bob.id, alice.id, comment("back"))
    assert len(sent) <= MUTUAL_LIKE_STATEMENTS, sent

    match = reply["match"]
    assert match is not None and match["user"]["user_id"] == str(alice.id)
    rows = (await session.execute(
        text("SELECT user_id, payload FROM user_events WHERE type = 'match.created' AND user_id IN (:a, :b)"),
        {"a": alice.id, "b": bob.id})).all()
    created = {row.user_id: row.payload["match"] for row in rows}
    assert set(created) == {alice.id, bob.id}
    assert created[bob.id] == match
    assert created[alice.id] == {**match, "user": created[alice.id]["user"]}
    assert created[alice.id]["user"]["user_id"] == str(bob.id)
    assert created[alice.id]["user"]["display_name"] == "Bob" and match["user"]["display_name"] == "Alice"
    assert created[alice.id]["user"]["distance_km"] == match["user"]["distance_km"] > 0
    assert created[alice.id]["user"]["badges"] == [] and match["user"]["badges"]  # Bob took no quiz


async def test_cards_for_pairs_are_each_viewers_cards_from_one_query(session: AsyncSession, engine: AsyncEngine,
                                                                      tmp_path: Path) -> None:
    """load_cards_for_pairs gives, in one statement, exactly the card load_cards gives each viewer."""
    ann = await make_person(engine, name="Ann", location=(52.52, 13.405), photos=2)
    ben = await make_person(engine, name="Ben", location=(48.14, 11.58), answers={})
    cem = await make_person(engine, name="Cem", location=None)
    nobody = uuid.uuid4()
    storage = LocalMediaStorage(tmp_path, "http://media.test")
    pairs = [(ann.id, ben.id), (ben.id, ann.id), (ann.id, cem.id), (cem.id, ben.id), (nobody, ann.id),
             (ann.id, nobody)]

    connection = await connection_of(session)
    with statements_on(engine, connection) as sent:
        cards = await load_cards_for_pairs(session, pairs, storage)
    assert len(sent) == 1

    assert set(cards) == set(pairs[:-1])  # a missing user has no card; a missing viewer sees one from nowhere
    for viewer, user in pairs[:-1]:
        assert cards[(viewer, user)] == (await load_cards(session, viewer, [user], storage))[user], (viewer, user)
    assert cards[(ann.id, ben.id)]["distance_km"] == cards[(ben.id, ann.id)]["distance_km"] > 400
    assert cards[(ann.id, cem.id)]["distance_km"] is None and cards[(nobody, ann.id)]["distance_km"] is None
    assert len(cards[(ben.id, ann.id)]["photos"]) == 2
    with statements_on(engine, connection) as sent:
        assert await load_cards_for_pairs(session, [], storage) == {}
    assert sent == []
