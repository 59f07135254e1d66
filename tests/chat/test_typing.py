"""typing: an ephemeral event to the other member only, throttled per user and match."""

from __future__ import annotations

import asyncio

import pytest
from delete_client import ClientError
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.chat.rules import TYPING_INTERVAL_S
from domain.wire.events import Typing
from tests.chat.conftest import Connect, block, events_until, make_pair, message_with, set_state
from tests.support.factory import make_match, make_person
from tests.support.shapes import closed_match


async def test_typing_reaches_only_the_other_member(engine: AsyncEngine, connect: Connect) -> None:
    """Blake's devices see Alex typing (no seq); Alex's own devices and other matches see nothing."""
    pair = await make_pair(engine)
    casey = await make_person(engine, name="Casey")
    casey_match = await make_match(engine, pair.a, casey)
    alex, alex_tablet = await connect(pair.a), await connect(pair.a)
    phone, tablet, casey_client = await connect(pair.b), await connect(pair.b), await connect(casey)

    assert await alex.call("typing", {"match_id": pair.mid}) == {}

    for device in (phone, tablet):
        event = await device.next_event("typing")
        assert event == {"type": "typing", "data": {"match_id": pair.mid, "user_id": pair.a.key}}
        closed_match(Typing, event["data"])
    # a later durable event on the same channel: any typing for these devices would have come before it
    await phone.call("messages.send", {"match_id": pair.mid, "body": "marker", "client_msg_id": "m"})
    for device in (alex, alex_tablet):
        got = await events_until(device, message_with("marker"))
        assert not [e for e in got if e["type"] == "typing"]
    await alex.call("messages.send", {"match_id": str(casey_match), "body": "hi Casey", "client_msg_id": "c"})
    got = await events_until(casey_client, message_with("hi Casey"))
    assert not [e for e in got if e["type"] == "typing"]


async def test_typing_is_throttled_per_user_and_match(engine: AsyncEngine, connect: Connect) -> None:
    """A burst of typing commands sends one event per 2 s; every command still gets an ok reply."""
    pair = await make_pair(engine)
    alex, blake = await connect(pair.a), await connect(pair.b)

    for _ in range(5):
        assert await alex.call("typing", {"match_id": pair.mid}) == {}
    await blake.call("typing", {"match_id": pair.mid})  # the other member has their own allowance
    await alex.call("messages.send", {"match_id": pair.mid, "body": "marker", "client_msg_id": "m"})
    got = await events_until(blake, message_with("marker"))
    assert len([e for e in got if e["type"] == "typing"]) == 1
    assert (await alex.next_event("typing"))["data"]["user_id"] == pair.b.key

    await asyncio.sleep(TYPING_INTERVAL_S + 0.2)
    await alex.call("typing", {"match_id": pair.mid})
    assert (await blake.next_event("typing"))["data"]["user_id"] == pair.a.key


async def test_strangers_get_not_found(engine: AsyncEngine, connect: Connect) -> None:
    """Someone outside the match cannot send typing into it."""
    pair = await make_pair(engine)
    stranger = await connect(await make_person(engine, name="Eve"))
    with pytest.raises(ClientError) as exc:
        await stranger.call("typing", {"match_id": pair.mid})
    assert exc.value.code == "not_found"


@pytest.mark.parametrize("ending", ["unmatch", "block"])
async def test_no_typing_once_the_match_ended(engine: AsyncEngine, connect: Connect, ending: str) -> None:
    """After an unmatch or a block, typing is refused with conflict and nothing reaches the other side."""
    pair = await make_pair(engine)
    alex, blake = await connect(pair.a), await connect(pair.b)
    if ending == "unmatch":
        await set_state(engine, pair.match_id, "unmatched")
    else:
        await block(engine, pair.b, pair.a)
    with pytest.raises(ClientError) as exc:
        await alex.call("typing", {"match_id": pair.mid})
    assert exc.value.code == "conflict"
    with pytest.raises(TimeoutError):
        await blake.next_event("typing", timeout=0.3)
