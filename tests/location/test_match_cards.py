"""A match's card shows a distance only while the match is active (or dating)."""

from __future__ import annotations

import pytest
from delete_client import DeleteClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.discovery.support import north_of, somewhere
from tests.support.factory import make_match, make_person
from tests.support.server import RunningServer


@pytest.mark.parametrize(("state", "shown"), [("active", True), ("dating", True), ("archived", False),
                                              ("unmatched", False)])
async def test_only_active_matches_show_how_far_the_partner_is(server: RunningServer, engine: AsyncEngine,
                                                               state: str, shown: bool) -> None:
    """A former partner cannot follow someone's moves through matches.list: distance_km is null there."""
    place = somewhere()
    me = await make_person(engine, location=place)
    partner = await make_person(engine, location=north_of(place, 7))
    await make_match(engine, me, partner, state=state)
    async with DeleteClient(server.ws_url + "/v1/ws", me.token) as c:
        reply = await c.call("matches.list", {"states": [state]})
    [match] = reply["matches"]
    assert match["user"]["user_id"] == partner.key
    assert match["user"]["distance_km"] == (7 if shown else None)
