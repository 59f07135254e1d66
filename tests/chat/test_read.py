"""messages.read: read positions only move forward and reach both members' devices."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from delete_client import ClientError, DeleteClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.models import MatchRead
from domain.wire.events import MessageRead
from tests.chat.conftest import Connect, Pair, events_until, make_pair, set_state
from tests.support.factory import make_match, make_person
from tests.support.shapes import closed_match


async def send(client: DeleteClient, match_id: str, body: str) -> str:
    reply = await client.call("messages.send", {"match_id": match_id, "body": body, "client_msg_id": uuid.uuid4().hex})
    return str(reply["message"]["id"])


async def stored_position(engine: AsyncEngine, pair: Pair, user_id: uuid.UUID) -> str | None:
    async with engine.connect() as conn:
        value = (await conn.execute(select(MatchRead.up_to_message_id).where(
            MatchRead.match_id == pair.match_id, MatchRead.user_id == user_id))).scalar_one_or_none()
    return None if value is None else str(value)


def read_up_to(message_id: str) -> Any:
    return lambda e: e["type"] == "message.read" and e["data"]["up_to"] == message_id


async def test_read_receipt_reaches_the_sender_and_the_readers_other_devices(engine: AsyncEngine,
                                                                             connect: Connect) -> None:
    """When Blake reads, Alex sees it, and Blake's other device learns the messages are read too."""
    pair = await make_pair(engine)
    alex, phone, tablet = await connect(pair.a), await connect(pair.b), await connect(pair.b)
    first = await send(alex, pair.mid, "one")
    second = await send(alex, pair.mid, "two")

    assert await phone.call("messages.read", {"match_id": pair.mid, "up_to": second}) == {}

    expected = {"match_id": pair.mid, "reader_id": pair.b.key, "up_to": second}
    for device in (alex, phone, tablet):
        event = (await events_until(device, read_up_to(second)))[-1]
        assert event["data"] == expected and isinstance(event["seq"], int)
        closed_match(MessageRead, event["data"])
    assert await stored_position(engine, pair, pair.b.id) == second
    assert first != second


async def test_read_position_only_moves_forward(engine: AsyncEngine, connect: Connect) -> None:
    """Marking an older message read keeps the newer position and sends no receipt."""
    pair = await make_pair(engine)
    alex, blake = await connect(pair.a), await connect(pair.b)
    ids = [await send(alex, pair.mid, f"m{i}") for i in range(3)]

    await blake.call("messages.read", {"match_id": pair.mid, "up_to": ids[1]})
    await blake.call("messages.read", {"match_id": pair.mid, "up_to": ids[0]})   # older: ignored
    await blake.call("messages.read", {"match_id": pair.mid, "up_to": ids[1]})   # same: ignored
    assert await stored_position(engine, pair, pair.b.id) == ids[1]
    await blake.call("messages.read", {"match_id": pair.mid, "up_to": ids[2]})

    got = await events_until(alex, read_up_to(ids[2]))
    assert [e["data"]["up_to"] for e in got if e["type"] == "message.read"] == [ids[1], ids[2]]
    assert await stored_position(engine, pair, pair.b.id) == ids[2]


async def test_each_member_has_their_own_read_position(engine: AsyncEngine, connect: Connect) -> None:
    """Alex reading does not move Blake's position."""
    pair = await make_pair(engine)
    alex, blake = await connect(pair.a), await connect(pair.b)
    mine = await send(alex, pair.mid, "mine")
    theirs = await send(blake, pair.mid, "theirs")
    await alex.call("messages.read", {"match_id": pair.mid, "up_to": theirs})
    await blake.call("messages.read", {"match_id": pair.mid, "up_to": mine})
    assert await stored_position(engine, pair, pair.a.id) == theirs
    assert await stored_position(engine, pair, pair.b.id) == mine


async def test_up_to_must_be_a_message_of_this_match(engine: AsyncEngine, connect: Connect) -> None:
    """A message id from another match, or an unknown one, is not_found and stores nothing."""
    pair = await make_pair(engine)
    other = await make_match(engine, pair.b, await make_person(engine, name="Casey"))
    blake = await connect(pair.b)
    foreign = await send(blake, str(other), "elsewhere")
    for up_to in (foreign, str(uuid.uuid4())):
        with pytest.raises(ClientError) as exc:
            await blake.call("messages.read", {"match_id": pair.mid, "up_to": up_to})
        assert exc.value.code == "not_found"
    assert await stored_position(engine, pair, pair.b.id) is None


async def test_strangers_get_not_found(engine: AsyncEngine, connect: Connect) -> None:
    """Someone outside the match cannot mark its messages read."""
    pair = await make_pair(engine)
    message = await send(await connect(pair.a), pair.mid, "private")
    stranger = await connect(await make_person(engine, name="Eve"))
    with pytest.raises(ClientError) as exc:
        await stranger.call("messages.read", {"match_id": pair.mid, "up_to": message})
    assert exc.value.code == "not_found"


async def test_no_receipts_after_unmatch(engine: AsyncEngine, connect: Connect) -> None:
    """After an unmatch, read receipts are refused with conflict."""
    pair = await make_pair(engine)
    message = await send(await connect(pair.a), pair.mid, "bye")
    blake = await connect(pair.b)
    await set_state(engine, pair.match_id, "unmatched")
    with pytest.raises(ClientError) as exc:
        await blake.call("messages.read", {"match_id": pair.mid, "up_to": message})
    assert exc.value.code == "conflict"
