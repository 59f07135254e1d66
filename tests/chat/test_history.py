"""messages.history: newest first, keyset pages, members of an open match only."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from delete_client import ClientError, DeleteClient
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.models import Message
from tests.chat.conftest import Connect, Pair, block, make_pair, set_state
from tests.support.factory import make_match, make_person


async def insert_messages(engine: AsyncEngine, pair: Pair, count: int, *, start: datetime,
                          step: timedelta = timedelta(seconds=1)) -> list[str]:
    """``count`` messages straight into the table, alternating senders, oldest first; their ids."""
    rows = [{"id": uuid.uuid4(), "match_id": pair.match_id, "sender_id": (pair.a, pair.b)[i % 2].id,
             "body": f"old {i}", "client_msg_id": f"bulk-{i}", "created_at": start + i * step}
            for i in range(count)]
    async with engine.begin() as conn:
        await conn.execute(insert(Message), rows)
    return [str(r["id"]) for r in rows]


async def all_pages(client: DeleteClient, match_id: str, limit: int) -> list[dict[str, Any]]:
    pages: list[dict[str, Any]] = []
    before: str | None = None
    for _ in range(1000):
        data: dict[str, Any] = {"match_id": match_id, "limit": limit}
        if before is not None:
            data["before"] = before
        page = await client.call("messages.history", data)
        pages.append(page)
        before = page["next_before"]
        if before is None:
            return pages
    raise AssertionError("history never ended")


async def test_history_pages_through_120_messages_newest_first(engine: AsyncEngine, connect: Connect) -> None:
    """Scrolling back through 120 messages shows each exactly once, newest first, and then stops."""
    pair = await make_pair(engine)
    old = await insert_messages(engine, pair, 117, start=datetime.now(UTC) - timedelta(days=1))
    a = await connect(pair.a)
    recent = [(await a.call("messages.send", {"match_id": pair.mid, "body": f"new {i}",
                                              "client_msg_id": f"n{i}"}))["message"]["id"] for i in range(3)]

    pages = await all_pages(a, pair.mid, 50)

    assert [len(p["messages"]) for p in pages] == [50, 50, 20]
    ids = [m["id"] for p in pages for m in p["messages"]]
    assert ids == list(reversed(old + recent))
    assert pages[0]["next_before"] == pages[0]["messages"][-1]["id"]
    assert pages[0]["messages"][0]["body"] == "new 2"
    # the other member reads the same conversation
    b_pages = await all_pages(await connect(pair.b), pair.mid, 100)
    assert [m["id"] for p in b_pages for m in p["messages"]] == ids


async def test_history_default_limit_is_50(engine: AsyncEngine, connect: Connect) -> None:
    """Without a limit a page holds 50 messages."""
    pair = await make_pair(engine)
    await insert_messages(engine, pair, 51, start=datetime.now(UTC) - timedelta(hours=1))
    page = await (await connect(pair.a)).call("messages.history", {"match_id": pair.mid})
    assert len(page["messages"]) == 50 and page["next_before"] is not None


async def test_exact_last_page_has_no_next_before(engine: AsyncEngine, connect: Connect) -> None:
    """When the messages end exactly at a page boundary, next_before is null (no empty extra page)."""
    pair = await make_pair(engine)
    await insert_messages(engine, pair, 4, start=datetime.now(UTC) - timedelta(hours=1))
    page = await (await connect(pair.a)).call("messages.history", {"match_id": pair.mid, "limit": 4})
    assert len(page["messages"]) == 4 and page["next_before"] is None


async def test_messages_with_the_same_timestamp_are_all_paged(engine: AsyncEngine, connect: Connect) -> None:
    """Messages stored at the same instant are neither skipped nor repeated across pages."""
    pair = await make_pair(engine)
    ids = await insert_messages(engine, pair, 5, start=datetime.now(UTC) - timedelta(hours=1), step=timedelta(0))
    pages = await all_pages(await connect(pair.a), pair.mid, 2)
    seen = [m["id"] for p in pages for m in p["messages"]]
    assert sorted(seen) == sorted(ids) and len(seen) == 5
    assert seen == sorted(ids, reverse=True)  # ties are broken by id, descending


async def test_empty_conversation(engine: AsyncEngine, connect: Connect) -> None:
    """A new match has an empty history."""
    pair = await make_pair(engine)
    page = await (await connect(pair.a)).call("messages.history", {"match_id": pair.mid})
    assert page == {"messages": [], "next_before": None}


@pytest.mark.parametrize("limit", [0, 101, -1])
async def test_limit_out_of_range_is_refused(engine: AsyncEngine, connect: Connect, limit: int) -> None:
    """A page size outside 1 to 100 is a validation_error."""
    pair = await make_pair(engine)
    with pytest.raises(ClientError) as exc:
        await (await connect(pair.a)).call("messages.history", {"match_id": pair.mid, "limit": limit})
    assert exc.value.code == "validation_error"


async def test_before_must_be_a_message_of_this_match(engine: AsyncEngine, connect: Connect) -> None:
    """Paging from a message of another match, or an unknown id, is not_found."""
    pair = await make_pair(engine)
    other = await make_match(engine, pair.a, await make_person(engine, name="Casey"))
    client = await connect(pair.a)
    foreign = await client.call("messages.send", {"match_id": str(other), "body": "hi", "client_msg_id": "x"})
    for before in (foreign["message"]["id"], str(uuid.uuid4())):
        with pytest.raises(ClientError) as exc:
            await client.call("messages.history", {"match_id": pair.mid, "before": before})
        assert exc.value.code == "not_found"


async def test_strangers_cannot_read(engine: AsyncEngine, connect: Connect) -> None:
    """Someone outside the match gets not_found, as for a match that does not exist."""
    pair = await make_pair(engine)
    await insert_messages(engine, pair, 2, start=datetime.now(UTC) - timedelta(hours=1))
    stranger = await connect(await make_person(engine, name="Eve"))
    for match_id in (pair.mid, str(uuid.uuid4())):
        with pytest.raises(ClientError) as exc:
            await stranger.call("messages.history", {"match_id": match_id})
        assert exc.value.code == "not_found"


async def test_history_closes_with_the_match(engine: AsyncEngine, connect: Connect) -> None:
    """After an unmatch the conversation can no longer be read (conflict); archived stays readable."""
    pair = await make_pair(engine, state="archived")
    await insert_messages(engine, pair, 2, start=datetime.now(UTC) - timedelta(days=9))
    client = await connect(pair.a)
    assert len((await client.call("messages.history", {"match_id": pair.mid}))["messages"]) == 2
    await set_state(engine, pair.match_id, "unmatched")
    with pytest.raises(ClientError) as exc:
        await client.call("messages.history", {"match_id": pair.mid})
    assert exc.value.code == "conflict"


async def test_block_hides_history(engine: AsyncEngine, connect: Connect) -> None:
    """Once blocked, the blocked person cannot scroll back through the conversation."""
    pair = await make_pair(engine)
    await insert_messages(engine, pair, 2, start=datetime.now(UTC) - timedelta(hours=1))
    client = await connect(pair.b)
    await block(engine, pair.a, pair.b)
    with pytest.raises(ClientError) as exc:
        await client.call("messages.history", {"match_id": pair.mid})
    assert exc.value.code == "conflict"
