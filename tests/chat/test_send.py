"""messages.send over the real socket: delivery, validation, idempotency, match states and blocks."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from delete_client import ClientError
from sqlalchemy import insert, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.models import Match, Message
from domain.wire.events import MessageCreated
from tests.chat.conftest import (
    Connect,
    block,
    events_until,
    make_pair,
    match_row,
    message_count,
    message_with,
    set_state,
)
from tests.support.factory import make_match, make_person
from tests.support.locks import until_waiting_for_a_lock
from tests.support.shapes import closed_match


def send_data(match_id: str, body: str = "hi there", client_msg_id: str | None = None) -> dict[str, str]:
    return {"match_id": match_id, "body": body, "client_msg_id": client_msg_id or uuid.uuid4().hex}


async def test_message_reaches_every_device_of_both_members(engine: AsyncEngine, connect: Connect) -> None:
    """A message shows up on the sender's device and on both of the recipient's devices, with a seq."""
    pair = await make_pair(engine)
    sender = await connect(pair.a)
    phone, tablet = await connect(pair.b), await connect(pair.b)

    reply = await sender.call("messages.send", send_data(pair.mid, "Hello, Blake!", "c-1"))

    message = reply["message"]
    assert set(message) == {"id", "match_id", "sender_id", "body", "client_msg_id", "created_at", "safety"}
    assert message["safety"] == []  # nothing shared (contact shielding: docs/safety.md)
    assert message["match_id"] == pair.mid and message["sender_id"] == pair.a.key
    assert message["body"] == "Hello, Blake!" and message["client_msg_id"] == "c-1"
    assert message["created_at"].endswith("Z")
    for device in (sender, phone, tablet):
        event = await device.next_event("message.created")
        assert isinstance(event["seq"], int)
        assert event["data"] == {"message": message}
        closed_match(MessageCreated, event["data"])
    row = await match_row(engine, pair.match_id)
    assert row.last_message_at is not None and row.state == "active"


async def test_body_is_kept_exactly_as_sent(engine: AsyncEngine, connect: Connect) -> None:
    """Spaces, line breaks and emoji around the text survive; 2,000 characters is allowed."""
    pair = await make_pair(engine)
    client = await connect(pair.a)
    for body in ("  padded \n\n line two\t", "👩‍❤️‍👨", "x" * 2000):
        reply = await client.call("messages.send", send_data(pair.mid, body))
        assert reply["message"]["body"] == body


@pytest.mark.parametrize(("field", "value"), [
    ("body", ""),
    ("body", "   \n\t "),
    ("body", "\u200b\u200b"),          # zero-width spaces only
    ("body", "\u3164"),                # Hangul filler
    ("body", "x" * 2001),
    ("body", "nul \x00 byte"),
    ("body", "lone \ud800 surrogate"),
    ("client_msg_id", ""),
    ("client_msg_id", "c" * 65),
])
async def test_invalid_fields_are_refused(engine: AsyncEngine, connect: Connect, field: str, value: str) -> None:
    """Empty or blank bodies, over-long ones and bad client ids get validation_error naming the field."""
    pair = await make_pair(engine)
    client = await connect(pair.a)
    with pytest.raises(ClientError) as exc:
        await client.call("messages.send", {**send_data(pair.mid), field: value})
    assert exc.value.code == "validation_error"
    assert exc.value.details is not None and field in exc.value.details["fields"]
    assert await message_count(engine, pair.match_id) == 0


async def test_unknown_field_is_refused(engine: AsyncEngine, connect: Connect) -> None:
    """A send with an extra field is a validation_error, not silently accepted."""
    pair = await make_pair(engine)
    client = await connect(pair.a)
    with pytest.raises(ClientError) as exc:
        await client.call("messages.send", {**send_data(pair.mid), "sender_id": pair.b.key})
    assert exc.value.code == "validation_error"


async def test_retry_returns_the_same_message_and_no_second_event(engine: AsyncEngine, connect: Connect) -> None:
    """Retrying a send with the same client_msg_id returns the stored message; nobody sees it twice."""
    pair = await make_pair(engine)
    sender, recipient = await connect(pair.a), await connect(pair.b)
    first = await sender.call("messages.send", send_data(pair.mid, "once", "retry-me"))
    again = await sender.call("messages.send", send_data(pair.mid, "once", "retry-me"))
    assert again == first
    await sender.call("messages.send", send_data(pair.mid, "marker"))

    for device in (sender, recipient):
        got = await events_until(device, message_with("marker"))
        created = [e for e in got if e["type"] == "message.created"]
        assert [e["data"]["message"]["body"] for e in created] == ["once", "marker"]
    assert await message_count(engine, pair.match_id) == 2


async def test_five_concurrent_sends_store_one_message(engine: AsyncEngine, connect: Connect) -> None:
    """Five devices sending the same client_msg_id at once make one message and one event per device."""
    pair = await make_pair(engine)
    senders = [await connect(pair.a) for _ in range(5)]
    phone, tablet = await connect(pair.b), await connect(pair.b)

    replies = await asyncio.gather(*(s.call("messages.send", send_data(pair.mid, "race", "same-id"))
                                     for s in senders))

    assert len({r["message"]["id"] for r in replies}) == 1
    assert await message_count(engine, pair.match_id) == 1
    await senders[0].call("messages.send", send_data(pair.mid, "marker"))
    for device in (*senders, phone, tablet):
        got = await events_until(device, message_with("marker"))
        bodies = [e["data"]["message"]["body"] for e in got if e["type"] == "message.created"]
        assert bodies == ["race", "marker"]


async def test_a_retry_stored_while_a_send_waits_for_the_match_is_returned_not_stored_again(
        engine: AsyncEngine, connect: Connect) -> None:
    """Another device's send with the same client_msg_id holds the match's lock and has stored the message
    when this send arrives: once it commits, this send answers with that message (``delete_send_message``
    reads the retry's key with a snapshot taken after the lock, so it sees it and stores nothing)."""
    pair = await make_pair(engine)
    sender = await connect(pair.a)
    async with engine.connect() as other_device:
        await other_device.execute(text("SELECT 1 FROM matches WHERE id = :m FOR NO KEY UPDATE"), {"m": pair.match_id})
        stored_id = uuid.uuid4()
        await other_device.execute(insert(Message).values(
            id=stored_id, match_id=pair.match_id, sender_id=pair.a.id, body="same", client_msg_id="dup"))
        sending = asyncio.create_task(sender.call("messages.send", send_data(pair.mid, "same", "dup")))
        await until_waiting_for_a_lock(engine, "SELECT * FROM delete_send_message")
        await other_device.commit()
    reply = await asyncio.wait_for(sending, 10)
    assert reply["message"]["id"] == str(stored_id) and reply["message"]["body"] == "same"
    assert await message_count(engine, pair.match_id) == 1


async def test_client_msg_id_reused_in_another_match_is_a_conflict(engine: AsyncEngine, connect: Connect) -> None:
    """The same client_msg_id for a different match (or a different text) is refused, not merged."""
    pair = await make_pair(engine)
    other = await make_person(engine, name="Casey")
    other_match = await make_match(engine, pair.a, other)
    client = await connect(pair.a)
    await client.call("messages.send", send_data(pair.mid, "first", "dup"))

    with pytest.raises(ClientError) as exc:
        await client.call("messages.send", send_data(str(other_match), "first", "dup"))
    assert exc.value.code == "conflict"
    with pytest.raises(ClientError) as exc:
        await client.call("messages.send", send_data(pair.mid, "something else", "dup"))
    assert exc.value.code == "conflict"
    assert await message_count(engine, other_match) == 0


async def test_concurrent_reuse_across_matches_stores_one(engine: AsyncEngine, connect: Connect) -> None:
    """Racing one client_msg_id into two matches stores it in one of them; the other send is a conflict."""
    pair = await make_pair(engine)
    other = await make_person(engine, name="Casey")
    other_match = await make_match(engine, pair.a, other)
    one, two = await connect(pair.a), await connect(pair.a)

    results = await asyncio.gather(one.call("messages.send", send_data(pair.mid, "hey", "shared")),
                                   two.call("messages.send", send_data(str(other_match), "hey", "shared")),
                                   return_exceptions=True)

    errors = [r for r in results if isinstance(r, ClientError)]
    assert len(errors) == 1 and errors[0].code == "conflict"
    assert await message_count(engine, pair.match_id) + await message_count(engine, other_match) == 1


async def test_each_sender_has_its_own_client_msg_ids(engine: AsyncEngine, connect: Connect) -> None:
    """Both members may use the same client_msg_id: the key is per sender."""
    pair = await make_pair(engine)
    a, b = await connect(pair.a), await connect(pair.b)
    from_a = await a.call("messages.send", send_data(pair.mid, "from a", "1"))
    from_b = await b.call("messages.send", send_data(pair.mid, "from b", "1"))
    assert from_a["message"]["id"] != from_b["message"]["id"]
    assert await message_count(engine, pair.match_id) == 2


async def test_message_in_archived_match_reactivates_it(engine: AsyncEngine, connect: Connect) -> None:
    """Writing in an archived match makes it active again; both members hear match.updated first."""
    pair = await make_pair(engine, state="archived")
    async with engine.begin() as conn:  # an archived former dating match: confirmations start over
        await conn.execute(update(Match).where(Match.id == pair.match_id).values(
            a_dating_confirmed_at=datetime.now(UTC), b_dating_confirmed_at=datetime.now(UTC)))
    sender, recipient = await connect(pair.a), await connect(pair.b)

    await sender.call("messages.send", send_data(pair.mid, "still there?", "wake"))
    await sender.call("messages.send", send_data(pair.mid, "still there?", "wake"))  # a retry changes nothing
    await sender.call("messages.send", send_data(pair.mid, "marker"))

    for device in (sender, recipient):
        got = [e for e in await events_until(device, message_with("marker")) if "seq" in e]  # not presence
        assert [e["type"] for e in got] == ["match.updated", "message.created", "message.created"]
        assert got[0]["data"]["match_id"] == pair.mid and got[0]["data"]["state"] == "active"
        assert got[0]["data"].get("by", pair.a.key) == pair.a.key
        assert got[0]["seq"] < got[1]["seq"]
    row = await match_row(engine, pair.match_id)
    assert row.state == "active" and row.last_message_at is not None
    assert row.a_dating_confirmed_at is None and row.b_dating_confirmed_at is None
    assert row.state_changed_at > row.matched_at


async def test_dating_match_allows_messages_without_state_change(engine: AsyncEngine, connect: Connect) -> None:
    """People who are dating keep chatting; the match stays dating."""
    pair = await make_pair(engine, state="dating")
    client = await connect(pair.a)
    await client.call("messages.send", send_data(pair.mid, "dinner at 8?"))
    assert (await match_row(engine, pair.match_id)).state == "dating"


async def test_strangers_and_unknown_matches_get_not_found(engine: AsyncEngine, connect: Connect) -> None:
    """Someone outside the match, or a made-up match id, cannot tell the match exists."""
    pair = await make_pair(engine)
    stranger = await connect(await make_person(engine, name="Eve"))
    for match_id in (pair.mid, str(uuid.uuid4())):
        with pytest.raises(ClientError) as exc:
            await stranger.call("messages.send", send_data(match_id))
        assert exc.value.code == "not_found"
    assert await message_count(engine, pair.match_id) == 0


@pytest.mark.parametrize("state", ["unmatched", "deleted"])
async def test_closed_match_is_a_conflict(engine: AsyncEngine, connect: Connect, state: str) -> None:
    """A member of an unmatched or deleted match cannot write in it any more."""
    pair = await make_pair(engine, state=state)
    client = await connect(pair.a)
    with pytest.raises(ClientError) as exc:
        await client.call("messages.send", send_data(pair.mid))
    assert exc.value.code == "conflict"
    assert await message_count(engine, pair.match_id) == 0


async def test_unmatch_stops_an_open_socket_but_a_retry_still_answers(engine: AsyncEngine, connect: Connect) -> None:
    """After an unmatch the next send fails at once; retrying a message sent before returns it."""
    pair = await make_pair(engine)
    client = await connect(pair.a)
    sent = await client.call("messages.send", send_data(pair.mid, "before", "before-id"))
    await set_state(engine, pair.match_id, "unmatched")

    with pytest.raises(ClientError) as exc:
        await client.call("messages.send", send_data(pair.mid, "after"))
    assert exc.value.code == "conflict"
    assert await client.call("messages.send", send_data(pair.mid, "before", "before-id")) == sent


async def test_block_stops_sending_at_once_on_open_sockets(engine: AsyncEngine, connect: Connect) -> None:
    """Once either person blocks the other, neither can send, even on sockets opened before the block."""
    pair = await make_pair(engine)  # the match is still active: the block alone must stop the chat
    a, b = await connect(pair.a), await connect(pair.b)
    await a.call("messages.send", send_data(pair.mid, "hi"))
    await block(engine, pair.b, pair.a)

    for client in (a, b):
        with pytest.raises(ClientError) as exc:
            await client.call("messages.send", send_data(pair.mid, "still?"))
        assert exc.value.code == "conflict"
    assert await message_count(engine, pair.match_id) == 1
