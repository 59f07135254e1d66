"""``matches.list`` as an inbox: ``unread_count`` and ``last_message`` per match (CONTRACT section 2).

Unread: the other person's messages after the caller's last ``messages.read`` (all of theirs before the
first); last message: the newest of either person, its body cut to 140 characters. Both come from the page's
own query, whatever the number of matches, and follow ``messages.read`` on every device and node.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

from delete_client import DeleteClient
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from domain.photos.storage import LocalMediaStorage
from domain.social import matches
from tests.chat.conftest import Connect, make_pair
from tests.support.factory import make_match, make_person
from tests.support.server import run_server
from tests.support.settings import make_settings
from tests.support.statements import connection_of, statements_on


async def _send(client: DeleteClient, match_id: str, body: str) -> dict[str, Any]:
    reply = await client.call("messages.send", {"match_id": match_id, "body": body,
                                                "client_msg_id": uuid.uuid4().hex})
    message: dict[str, Any] = reply["message"]
    return message


async def _inbox(client: DeleteClient) -> dict[str, dict[str, Any]]:
    page = await client.call("matches.list", {"limit": 50})
    return {m["id"]: m for m in page["matches"]}


async def test_unread_counts_the_partners_messages_after_the_read_position(connect: Connect,
                                                                            engine: AsyncEngine) -> None:
    """Three from Blake: 3 unread for Alex; read up to the second: 1; Alex's own messages never count."""
    pair = await make_pair(engine)
    alex, blake = await connect(pair.a), await connect(pair.b)
    assert (await _inbox(alex))[pair.mid]["unread_count"] == 0
    sent = [await _send(blake, pair.mid, f"hello {n}") for n in range(3)]
    mine = (await _inbox(alex))[pair.mid]
    assert mine["unread_count"] == 3
    assert mine["last_message"] == {"id": sent[2]["id"], "sender_id": str(pair.b.id), "body": "hello 2",
                                    "created_at": sent[2]["created_at"]}
    assert (await _inbox(blake))[pair.mid]["unread_count"] == 0  # their own messages are not news to them

    await alex.call("messages.read", {"match_id": pair.mid, "up_to": sent[1]["id"]})
    assert (await _inbox(alex))[pair.mid]["unread_count"] == 1
    reply = await _send(alex, pair.mid, "hi back")
    mine = (await _inbox(alex))[pair.mid]
    assert mine["unread_count"] == 1 and mine["last_message"]["id"] == reply["id"]
    assert mine["last_message"]["sender_id"] == str(pair.a.id)
    assert (await _inbox(blake))[pair.mid]["unread_count"] == 1  # Blake never read: Alex's one message

    await alex.call("messages.read", {"match_id": pair.mid, "up_to": sent[2]["id"]})
    assert (await _inbox(alex))[pair.mid]["unread_count"] == 0


async def test_last_message_body_is_cut_to_140_characters(connect: Connect, engine: AsyncEngine) -> None:
    """A 600-character message shows its first 140 characters (emoji count as one) in the inbox."""
    pair = await make_pair(engine)
    blake = await connect(pair.b)
    body = "💌" + "x" * 599
    await _send(blake, pair.mid, body)
    shown = (await _inbox(await connect(pair.a)))[pair.mid]["last_message"]["body"]
    assert shown == body[:140] and len(shown) == 140


async def test_every_device_on_every_node_sees_the_read_position_move(
        connect: Connect, engine: AsyncEngine, database_url: str, redis_url: str, tmp_path: Path) -> None:
    """Alex on two nodes, phone and laptop: reading on one device moves the count that the other one lists."""
    pair = await make_pair(engine)
    settings = make_settings(database_url, redis_url, tmp_path / "media")
    async with run_server(settings) as other_node:
        laptop = await connect(pair.a)
        async with DeleteClient(other_node.ws_url + "/v1/ws", pair.a.token) as phone:
            blake = await connect(pair.b)
            sent = [await _send(blake, pair.mid, f"m{n}") for n in range(4)]
            assert (await _inbox(phone))[pair.mid]["unread_count"] == 4
            await laptop.call("messages.read", {"match_id": pair.mid, "up_to": sent[2]["id"]})
            assert (await _inbox(phone))[pair.mid]["unread_count"] == 1
            await phone.call("messages.read", {"match_id": pair.mid, "up_to": sent[3]["id"]})
            assert (await _inbox(laptop))[pair.mid]["unread_count"] == 0


async def test_unread_count_under_concurrent_sends_and_reads_from_two_devices(connect: Connect,
                                                                              engine: AsyncEngine) -> None:
    """Blake sends from two devices while Alex reads from two, all at once: the count Alex lists afterwards is
    exactly Blake's messages after the position the reads left (which only moves forward)."""
    pair = await make_pair(engine)
    blake_phone, blake_web = await connect(pair.b), await connect(pair.b)
    alex_phone, alex_web = await connect(pair.a), await connect(pair.a)
    first = [await _send(blake_phone, pair.mid, f"first {n}") for n in range(10)]

    async def read_all(client: DeleteClient, ids: list[str]) -> None:
        for message_id in ids:
            await client.call("messages.read", {"match_id": pair.mid, "up_to": message_id})

    sends = [_send(device, pair.mid, f"late {device is blake_web} {n}")
             for n in range(10) for device in (blake_phone, blake_web)]
    await asyncio.gather(*sends, read_all(alex_phone, [m["id"] for m in first[::2]]),
                         read_all(alex_web, [m["id"] for m in first[1::2]]))

    history = (await alex_phone.call("messages.history", {"match_id": pair.mid, "limit": 50}))["messages"]
    assert len(history) == 30
    read_upto = first[-1]["id"]  # the furthest read: both devices ended within the first ten
    position = [m["id"] for m in reversed(history)].index(read_upto)
    expected = sum(1 for m in list(reversed(history))[position + 1:] if m["sender_id"] == str(pair.b.id))
    assert expected == 20
    for device in (alex_phone, alex_web):
        assert (await _inbox(device))[pair.mid]["unread_count"] == expected
    await alex_web.call("messages.read", {"match_id": pair.mid, "up_to": history[0]["id"]})
    assert (await _inbox(alex_phone))[pair.mid]["unread_count"] == 0


async def test_a_page_costs_the_same_statements_for_5_or_50_matches(session: AsyncSession, engine: AsyncEngine,
                                                                   tmp_path: Path) -> None:
    """The inbox columns are part of the page's query: no statement per match."""
    storage = LocalMediaStorage(tmp_path, "http://media.test")
    counts = []
    for size in (5, 50):
        me = await make_person(engine)
        for n in range(size):
            await make_match(engine, me, await make_person(engine, name=f"P{n}"))
        connection = await connection_of(session)
        with statements_on(engine, connection) as sent:
            page = await matches.list_matches(session, storage, me.id, None, None, 50)
        assert len(page["matches"]) == size
        counts.append(len(sent))
    assert counts[0] == counts[1], counts
