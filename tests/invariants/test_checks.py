"""The invariant checks are not vacuous: a short scripted run passes them, and each planted violation is caught."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import AsyncExitStack

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.discovery.support import somewhere
from tests.invariants import checks, consistency
from tests.invariants.plan import Action
from tests.invariants.workload import Frame, Member, Workload, drain
from tests.support.factory import make_person
from tests.support.server import RunningServer

A, B, C, D = range(4)
SCRIPT = [
    [Action(A, "like", B, comment="Hello there, nice photos"), Action(B, "like", A, comment="Hello back to you, A")],
    [Action(A, "messages.send", B, body="first message")],
    [Action(B, "block", A), Action(C, "pass", D), Action(D, "discovery.request", count=5)],
    [Action(A, "discovery.request", count=5), Action(C, "discovery.device", count=20)],
]


async def test_checks_pass_a_clean_run_and_catch_planted_violations(two_nodes: list[RunningServer],
                                                                    engine: AsyncEngine) -> None:
    """The checks pass a clean scripted run and report a planted match, message, card and undelivered event."""
    place = somewhere()
    people = [await make_person(engine, name=f"Check{i}", location=place) for i in range(4)]
    members = [Member(i, p, i % 2) for i, p in enumerate(people)]
    w = Workload(two_nodes, members)
    ids = [p.id for p in people]
    async with AsyncExitStack() as stack:
        for member in members:
            stack.push_async_callback((await w.connect(member)).client.close)
        for batch in SCRIPT:
            for action in batch:
                await w.perform(action)
            async with asyncio.timeout(10):  # A hears of the match before writing in it
                while w.match_with(w.members[A], B) is None:
                    await asyncio.sleep(0.01)
        await w.settle(engine)
        live = {str(m.person.id): [(e["seq"], e["type"], e["data"]) for e in await drain(m.socket.client)
                                   if "seq" in e] for m in members}
    assert not w.problems and all(c.ok for c in w.calls), w.problems
    match_id = w.members[A].matches[B]

    async def run_checks() -> dict[str, list[str]]:
        async with engine.connect() as conn:
            snap = await checks.snapshot(conn, ids)
            message_report, _ = await checks.check_no_message_after_block(conn, ids, snap, w)
            return {"1": await checks.check_matches_have_two_likes(conn, ids),
                    "2": await checks.check_one_match_per_pair(conn, ids, snap, live),
                    "3": message_report,
                    "4": checks.check_no_forbidden_card(w).violations,
                    "5": checks.check_events(w, snap, live, live, {u: len(e) for u, e in live.items()}),
                    "states": consistency.check_state_events(snap),
                    "records": consistency.check_records(w, snap),
                    "rules": consistency.check_rules(snap)}

    assert {name: found for name, found in (await run_checks()).items() if found} == {}

    # plant one violation of each kind
    card = {"type": "discovery.card", "data": {"card": {"user_id": str(people[B].id)}}}
    blocked = next(c for c in w.calls if c.kind == "block")
    passed = next(c for c in w.calls if c.kind == "pass")
    w.members[A].socket.client.frames.append(Frame(blocked.done + 2 * checks.FILL_TOLERANCE_S, card))
    card = {"type": "discovery.card", "data": {"card": {"user_id": str(people[D].id)}}}
    w.members[C].socket.client.frames.append(Frame(passed.done + 2 * checks.FILL_TOLERANCE_S, card))
    async with engine.begin() as conn:
        low, high = sorted((people[C].id, people[D].id))
        await conn.execute(text("INSERT INTO matches (id, user_a, user_b) VALUES (:id, :a, :b)"),
                           {"id": uuid.uuid4(), "a": low, "b": high})
        await conn.execute(text("INSERT INTO messages (id, match_id, sender_id, body, client_msg_id, created_at) "
                                "VALUES (:id, :m, :s, 'after the block', 'planted', clock_timestamp())"),
                           {"id": uuid.uuid4(), "m": match_id, "s": people[A].id})
        await conn.execute(text("UPDATE user_event_counters SET last_seq = last_seq + 1 WHERE user_id = :u"),
                           {"u": people[A].id})
        await conn.execute(text("INSERT INTO user_events (user_id, seq, type, payload) SELECT :u, last_seq, "
                                "'message.read', '{}' FROM user_event_counters WHERE user_id = :u"),
                           {"u": people[A].id})
    found = await run_checks()
    assert any("exists without either like" in v for v in found["1"]), found["1"]
    assert any("has match.created for match" in v for v in found["2"]), found["2"]
    assert any("after the block" in v for v in found["3"]), found["3"]
    assert any("block by" in v for v in found["4"]) and any("passed by the viewer" in v for v in found["4"])
    assert any("never received live" in v for v in found["5"]), found["5"]
    assert any(v.startswith("messages:") for v in found["records"]), found["records"]
