"""The lists that tolerate lag read the replica (likes received, matches, moderators' search and stats);
the moderator check beside them reads the primary."""

from __future__ import annotations

import secrets

import pytest
from delete_client import ClientError, DeleteClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.replica.conftest import Pair
from tests.support.factory import Person, make_person
from tests.support.server import RunningServer

COMMENT = "Your sunday plans sound great."


def client(server: RunningServer, person: Person) -> DeleteClient:
    return DeleteClient(server.ws_url + "/v1/ws", person.token)


async def test_likes_received_and_matches_come_from_the_replica(pair: Pair, read_server: RunningServer,
                                                                primary_engine: AsyncEngine) -> None:
    a, b = await make_person(primary_engine, name="Alex"), await make_person(primary_engine, name="Blake")
    async with client(read_server, a) as alex, client(read_server, b) as blake:
        async with pair.lagging():
            await blake.call("like", {"user_id": a.key, "comment": COMMENT})
            assert (await alex.call("likes.pending"))["likes"] == []
        await pair.caught_up()
        assert [p["from"]["user_id"] for p in (await alex.call("likes.pending"))["likes"]] == [b.key]
        async with pair.lagging():
            liked_back = await alex.call("like", {"user_id": b.key, "comment": COMMENT})
            assert liked_back["match"] is not None  # the like itself was checked and written on the primary
            assert (await alex.call("matches.list"))["matches"] == []
        await pair.caught_up()
        assert [m["user"]["user_id"] for m in (await alex.call("matches.list"))["matches"]] == [b.key]


async def test_moderator_search_reads_the_replica_but_the_role_the_primary(
        pair: Pair, read_server: RunningServer, primary_engine: AsyncEngine) -> None:
    mod = await make_person(primary_engine, name="Mo", role="moderator")
    name = "Zq" + "".join(secrets.choice("bcdfghjkmnpqrstvwxz") for _ in range(8))
    async with client(read_server, mod) as c:
        async with pair.lagging():
            person = await make_person(primary_engine, name=name)
            assert (await c.call("moderation.search", {"query": name}))["users"] == []
            stats = await c.call("moderation.stats")
        await pair.caught_up()
        assert [u["id"] for u in (await c.call("moderation.search", {"query": name}))["users"]] == [person.key]
        assert (await c.call("moderation.stats"))["signups_today"] > stats["signups_today"]
        async with pair.lagging():
            async with primary_engine.begin() as conn:
                await conn.execute(text("UPDATE users SET role = 'user' WHERE id = :id"), {"id": mod.id})
            with pytest.raises(ClientError) as refused:
                await c.call("moderation.search", {"query": name})
            assert refused.value.code == "forbidden"
