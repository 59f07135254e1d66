"""A replica that goes down costs no read: they run on the primary until it is back, then on it again
(history and discovery beside a primary transaction, the matches list on its own)."""

from __future__ import annotations

import asyncio
import logging
import uuid

import pytest
from delete_client import DeleteClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.discovery.support import candidate_at, request, somewhere, viewer_at
from tests.replica.conftest import Pair
from tests.support.factory import make_match, make_person
from tests.support.server import RunningServer


async def bodies(c: DeleteClient, match_id: uuid.UUID) -> list[str]:
    page = await c.call("messages.history", {"match_id": str(match_id)})
    return [m["body"] for m in page["messages"]]


async def test_reads_fall_back_to_the_primary_while_the_replica_is_down(
        pair: Pair, read_server: RunningServer, primary_engine: AsyncEngine, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "domain.read_sessions")
    a, b = await make_person(primary_engine, name="Alex"), await make_person(primary_engine, name="Blake")
    match_id = await make_match(primary_engine, a, b)
    place = somewhere()
    viewer = await viewer_at(primary_engine, place)
    candidate = await candidate_at(primary_engine, place)
    async with DeleteClient(read_server.ws_url + "/v1/ws", a.token) as alex, \
            DeleteClient(read_server.ws_url + "/v1/ws", viewer.token) as looking:
        await pair.caught_up()
        await alex.call("messages.history", {"match_id": str(match_id)})  # a pooled replica connection
        await asyncio.to_thread(pair.replica.stop)
        try:
            await alex.call("messages.send", {"match_id": str(match_id), "body": "down", "client_msg_id": "1"})
            assert await bodies(alex, match_id) == ["down"]
            assert [m["id"] for m in (await alex.call("matches.list"))["matches"]] == [str(match_id)]
            assert (await request(looking, 5)).ids == [candidate.key]
        finally:
            await asyncio.to_thread(pair.replica.start)
        assert "read replica unreachable" in caplog.text
        async with pair.lagging():  # reads are back on the replica: what it has not replayed is not shown
            await alex.call("messages.send", {"match_id": str(match_id), "body": "back", "client_msg_id": "2"})
            assert await bodies(alex, match_id) == ["down"]
