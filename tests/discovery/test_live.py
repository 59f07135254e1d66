"""Open credits filled live: a profile becoming eligible reaches the sockets that asked, on any node."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from delete_client import DeleteClient
from sqlalchemy.ext.asyncio import AsyncEngine

from delete_api.database import make_sessionmaker
from delete_api.resources import random_prefix
from domain.discovery.signals import profile_changed
from domain.models import Photo
from domain.transaction import unit_of_work
from tests.discovery.support import (
    ALIKE,
    candidate_at,
    client,
    insert_rows,
    north_of,
    passed,
    request,
    somewhere,
    viewer_at,
)
from tests.support.events import event_log
from tests.support.server import RunningServer, run_server
from tests.support.settings import make_settings

CARD_WAIT_S = 5.0


async def no_card(c: DeleteClient, wait_s: float = 0.5) -> None:
    """No discovery.card arrives within ``wait_s``."""
    with pytest.raises(TimeoutError):
        await c.next_event("discovery.card", timeout=wait_s)


async def card_for(c: DeleteClient) -> str:
    event = await c.next_event("discovery.card", timeout=CARD_WAIT_S)
    assert "seq" not in event
    return str(event["data"]["card"]["user_id"])


async def test_a_profile_completing_its_quiz_fills_open_credits(server: RunningServer, engine: AsyncEngine) -> None:
    """After discovery.empty, someone finishing the quiz nearby arrives as a card, once per open credit."""
    place = somewhere()
    viewer = await viewer_at(engine, place)
    other_viewer = await viewer_at(engine, place, name="Picky", interested_in=("man",))  # never sees women
    newcomers = [await candidate_at(engine, place, name=f"New{i}", answers={}) for i in range(3)]
    async with client(server, viewer) as c, client(server, other_viewer) as picky:
        first = await request(c, 2)
        assert first.empty and first.sent == 0
        assert (await request(picky, 5)).empty
        for i, newcomer in enumerate(newcomers):
            async with client(server, newcomer) as n:
                await n.call("quiz.submit", {"answers": ALIKE})
            if i < 2:
                assert await card_for(c) == newcomer.key
        await no_card(c)  # two credits, two cards: the third newcomer waits for the next request
        await no_card(picky, 0.1)
        again = await request(c, 5)
    assert again.ids == [newcomers[2].key]  # and the cards already sent are not repeated


async def test_profile_changed_from_any_service_fills_credits(server: RunningServer, engine: AsyncEngine,
                                                             redis_url: str) -> None:
    """A first photo stored by any service, announced with profile_changed after commit, reaches the viewer."""
    place = somewhere()
    viewer = await viewer_at(engine, place)
    newcomer = await candidate_at(engine, place, photos=0)
    async with client(server, viewer) as c:
        assert (await request(c, 1)).empty
        async with event_log(redis_url, server.settings.extra["redis_prefix"]) as events:
            async with unit_of_work(make_sessionmaker(engine)) as session:
                session.add(Photo(id=uuid.uuid4(), user_id=newcomer.id, position=0,
                                  storage_key=secrets.token_urlsafe(24) + ".jpg",
                                  thumb_key=secrets.token_urlsafe(24) + ".jpg", width=800, height=1000))
                profile_changed(session, events, newcomer.id)
            card = await c.next_event("discovery.card", timeout=CARD_WAIT_S)
    assert card["data"]["card"]["user_id"] == newcomer.key
    assert card["data"]["card"]["distance_km"] == 5


async def test_a_change_that_keeps_someone_ineligible_sends_nothing(server: RunningServer,
                                                                     engine: AsyncEngine) -> None:
    """A profile change of someone the viewer still must not see (blocked) fills no credit."""
    from tests.discovery.support import block

    place = somewhere()
    viewer = await viewer_at(engine, place)
    blocked = await candidate_at(engine, place, answers={})
    await insert_rows(engine, block(blocked, viewer))
    async with client(server, viewer) as c:
        assert (await request(c, 3)).empty
        async with client(server, blocked) as b:
            await b.call("quiz.submit", {"answers": ALIKE})
        await no_card(c)


async def test_a_new_request_replaces_the_open_credits(server: RunningServer, engine: AsyncEngine) -> None:
    """Asking again with a smaller count leaves only that many credits open."""
    place = somewhere()
    viewer = await viewer_at(engine, place)
    newcomers = [await candidate_at(engine, place, name=f"New{i}", answers={}) for i in range(2)]
    async with client(server, viewer) as c:
        assert (await request(c, 3)).empty
        assert (await request(c, 1)).empty
        for newcomer in newcomers:
            async with client(server, newcomer) as n:
                await n.call("quiz.submit", {"answers": ALIKE})
        assert await card_for(c) == newcomers[0].key
        await no_card(c)


async def test_widening_ones_own_preferences_tops_up_open_credits(server: RunningServer,
                                                                  engine: AsyncEngine) -> None:
    """A viewer with open credits who widens their distance gets the people now in reach, live."""
    place = somewhere()
    viewer = await viewer_at(engine, place, max_distance_km=20)
    farther = await candidate_at(engine, place, location=north_of(place, 30))
    async with client(server, viewer) as c:
        assert (await request(c, 2)).empty
        await c.call("me.update", {"max_distance_km": 40})
        assert await card_for(c) == farther.key


@asynccontextmanager
async def node(database_url: str, redis_url: str, tmp_root: Path, prefix: str, **extra: str) -> AsyncIterator[
        RunningServer]:
    settings = make_settings(database_url, redis_url, tmp_root / "media", extra={"redis_prefix": prefix, **extra})
    async with run_server(settings) as running:
        yield running


async def test_a_pass_expiring_fills_open_credits(database_url: str, redis_url: str, tmp_root: Path,
                                                  engine: AsyncEngine) -> None:
    """Someone the viewer passed shows up live when the pass expires, while credits are open."""
    place = somewhere()
    viewer = await viewer_at(engine, place)
    passed_on = await candidate_at(engine, place)
    await insert_rows(engine, passed(viewer, passed_on, expires_in=timedelta(seconds=1)))
    async with AsyncExitStack() as stack:
        server = await stack.enter_async_context(
            node(database_url, redis_url, tmp_root, random_prefix(), discovery_sweep_s="0.3"))
        c = await stack.enter_async_context(client(server, viewer))
        assert (await request(c, 1)).empty
        assert await card_for(c) == passed_on.key


async def test_credits_fill_across_nodes(database_url: str, redis_url: str, tmp_root: Path,
                                         engine: AsyncEngine) -> None:
    """A quiz completed on one node fills the credits of a viewer connected to another node."""
    place = somewhere()
    viewer = await viewer_at(engine, place)
    newcomer = await candidate_at(engine, place, answers={})
    prefix = random_prefix()
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(node(database_url, redis_url, tmp_root, prefix))
        b = await stack.enter_async_context(node(database_url, redis_url, tmp_root, prefix))
        c = await stack.enter_async_context(client(b, viewer))
        assert (await request(c, 1)).empty
        async with client(a, newcomer) as n:
            await n.call("quiz.submit", {"answers": ALIKE})
        assert await card_for(c) == newcomer.key


async def test_closed_sockets_are_forgotten(server: RunningServer, engine: AsyncEngine) -> None:
    """A socket that closed with open credits is dropped; the viewer's live socket still gets its card."""
    place = somewhere()
    viewer = await viewer_at(engine, place)
    newcomer = await candidate_at(engine, place, answers={})
    async with client(server, viewer) as gone:
        assert (await request(gone, 1)).empty
    async with client(server, viewer) as c:
        assert (await request(c, 1)).empty
        async with client(server, newcomer) as n:
            await n.call("quiz.submit", {"answers": ALIKE})
        assert await card_for(c) == newcomer.key
