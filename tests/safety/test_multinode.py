"""The word list across two real server processes sharing PostgreSQL and Redis: every change applies on every
node within 2 s (the Redis announcement, and the once-a-second fingerprint check when no announcement comes)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from delete_client import ClientError, DeleteClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.safety.conftest import fresh_word
from tests.support.factory import Person, make_match
from tests.support.nodes import Nodes, running_nodes, signup_user

A, B = 0, 1
DEADLINE_S = 2.0


@pytest.fixture(scope="module")
async def nodes(database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Nodes]:
    root: Path = tmp_path_factory.mktemp("safety-nodes")
    async with running_nodes(2, database_url=database_url, redis_url=redis_url, root=root) as running:
        yield running


async def _person(nodes: Nodes, engine: AsyncEngine, *, role: str = "user") -> Person:
    user = await signup_user(nodes[A].base_url, display_name="Node")
    if role != "user":
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE users SET role = :r WHERE id = :id"), {"r": role, "id": user.id})
    return Person(user.id, "", user.token)


async def _sends(client: DeleteClient, match_id: uuid.UUID, body: str) -> bool:
    """True if the message is accepted, False if the content filter refuses it."""
    try:
        await client.call("messages.send", {"match_id": str(match_id), "body": body,
                                            "client_msg_id": uuid.uuid4().hex})
    except ClientError as error:
        assert error.code == "content_blocked", error
        return False
    return True


async def _seconds_until(client: DeleteClient, match_id: uuid.UUID, body: str, accepted: bool) -> float:
    """How long until sending ``body`` is accepted (or refused); fails past the 2 s deadline."""
    start = time.monotonic()
    while await _sends(client, match_id, body) != accepted:
        elapsed = time.monotonic() - start
        assert elapsed < DEADLINE_S, f"still {'refused' if accepted else 'accepted'} after {elapsed:.2f} s"
        await asyncio.sleep(0.05)
    return time.monotonic() - start


async def test_a_pattern_added_on_node_a_applies_on_node_b_within_2_s(nodes: Nodes, engine: AsyncEngine) -> None:
    """words.add on A refuses a message on B within 2 s; words.remove lets it through again on both nodes."""
    mod, ada, bo = await _person(nodes, engine, role="moderator"), await _person(nodes, engine), \
        await _person(nodes, engine)
    match_id = await make_match(engine, ada, bo)
    word = fresh_word()
    async with DeleteClient(nodes[A].ws_url, mod.token) as m, DeleteClient(nodes[B].ws_url, ada.token) as on_b, \
            DeleteClient(nodes[A].ws_url, bo.token) as on_a:
        assert await _sends(on_b, match_id, word)
        added = (await m.call("moderation.words.add", {"pattern": word, "action": "block"}))["word"]
        await _seconds_until(on_b, match_id, f"well {word}", accepted=False)
        assert not await _sends(on_a, match_id, word)  # the node that made the change applies it at once

        await m.call("moderation.words.remove", {"id": added["id"]})
        await _seconds_until(on_b, match_id, f"well {word}", accepted=True)
        await _seconds_until(on_a, match_id, f"well {word}", accepted=True)


async def test_without_an_announcement_the_fingerprint_check_catches_up(nodes: Nodes, engine: AsyncEngine) -> None:
    """A change written straight to the database (no Redis message) still applies on both nodes within 2 s."""
    ada, bo = await _person(nodes, engine), await _person(nodes, engine)
    match_id = await make_match(engine, ada, bo)
    word = fresh_word()
    async with DeleteClient(nodes[B].ws_url, ada.token) as on_b, DeleteClient(nodes[A].ws_url, bo.token) as on_a:
        async with engine.begin() as conn:
            pattern_id = (await conn.execute(text(
                "INSERT INTO word_patterns (id, pattern, folded, action) VALUES (gen_random_uuid(), :p, :p, 'block') "
                "RETURNING id"), {"p": word})).scalar_one()
        try:
            await _seconds_until(on_b, match_id, word, accepted=False)
            await _seconds_until(on_a, match_id, word, accepted=False)
        finally:
            async with engine.begin() as conn:
                await conn.execute(text("UPDATE word_patterns SET removed_at = now() WHERE id = :id"),
                                   {"id": pattern_id})
        await _seconds_until(on_b, match_id, word, accepted=True)
