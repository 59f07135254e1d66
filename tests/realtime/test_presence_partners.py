"""Presence goes to a user's match partners, and only them (CONTRACT: `presence` `{"user_id","online"}`).

The partners are read in one statement for the sockets that come and go together, on a kept connection of
the primary (``domain/batch_connection.py``): a partner in a live match (active, dating, archived) hears
the first socket come and the last one go; a person unmatched, or never matched, hears nothing.
"""

from __future__ import annotations

from delete_client import DeleteClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.social.support import no_event, online
from tests.support.factory import make_match, make_person
from tests.support.server import RunningServer

T = 5.0


async def test_partners_in_a_live_match_hear_the_first_socket_come_and_the_last_go(
        server: RunningServer, engine: AsyncEngine) -> None:
    ana = await make_person(engine, name="Ana")
    bo, dee = await make_person(engine, name="Bo"), await make_person(engine, name="Dee")
    ex, stranger = await make_person(engine, name="Ex"), await make_person(engine, name="Stranger")
    await make_match(engine, ana, bo)
    await make_match(engine, ana, dee, state="dating")
    await make_match(engine, ana, ex, state="unmatched")
    async with online(server, bo, dee, ex, stranger) as (b, d, e, s):
        phone = DeleteClient(server.ws_url + "/v1/ws", ana.token)
        await phone.connect()
        online_now = {"user_id": str(ana.id), "online": True}
        assert (await b.next_event("presence", timeout=T))["data"] == online_now
        assert (await d.next_event("presence", timeout=T))["data"] == online_now
        async with online(server, ana):  # a second device: she was online already, nobody hears of it
            await no_event(b, "presence")
        await no_event(b, "presence")  # nor of it going: her phone is still there
        await phone.close()  # her last device goes
        offline = {"user_id": str(ana.id), "online": False}
        assert (await b.next_event("presence", timeout=T))["data"] == offline
        assert (await d.next_event("presence", timeout=T))["data"] == offline
        await no_event(e, "presence")
        await no_event(s, "presence")
