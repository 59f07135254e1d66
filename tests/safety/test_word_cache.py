"""A node's copy of the word list: the once-a-second check of the list in force is one statement on the kept
connection (every node runs it all day), and a change it finds is loaded."""

from __future__ import annotations

import uuid
from collections import Counter

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from delete_api.database import make_sessionmaker
from domain.safety.cache import WordCache
from tests.safety.conftest import fresh_word
from tests.support.publishing import kept_lane
from tests.support.statements import round_trips


async def test_the_check_is_one_statement_and_a_change_it_finds_is_loaded(engine: AsyncEngine) -> None:
    word = fresh_word()
    async with kept_lane(engine) as reads:
        cache = WordCache(make_sessionmaker(engine), reads.fetch_alone)
        await cache.refresh()
        with round_trips(engine) as seen:
            assert await cache.refresh() is False  # nothing changed: nothing loaded
        assert seen == Counter({"SELECT": 1}), seen  # no checkout's BEGIN or ROLLBACK around it
        pattern_id = uuid.uuid4()
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO word_patterns (id, pattern, folded, action) "
                                    "VALUES (:id, :p, :p, 'flag')"), {"id": pattern_id, "p": word})
        try:
            assert await cache.refresh() is True
            assert cache.words.find(f"a {word} here") is not None
        finally:
            async with engine.begin() as conn:
                await conn.execute(text("UPDATE word_patterns SET removed_at = now() WHERE id = :id"),
                                   {"id": pattern_id})
        assert await cache.refresh() is True and cache.words.find(f"a {word} here") is None
