"""The archive job: active matches idle for 7 days become archived, both members are told; in-server and CLI."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from delete_api.database import make_sessionmaker
from delete_api.jobs import archive_all
from delete_api.resources import random_prefix
from tests.social.support import online, scalar
from tests.support.events import event_log
from tests.support.factory import make_match, make_person
from tests.support.server import RunningServer, run_server
from tests.support.settings import TEST_JWT_SECRET, make_settings

ROOT = Path(__file__).resolve().parents[2]


async def state_of(engine: AsyncEngine, match_id: uuid.UUID) -> str:
    return str(await scalar(engine, "SELECT state FROM matches WHERE id = :m", m=match_id))


async def test_idle_matches_are_archived_and_both_told(server: RunningServer, engine: AsyncEngine,
                                                       redis_url: str) -> None:
    """A match 8 days old with no message is archived (reason inactive); recent or chatty ones stay active."""
    now = datetime.now(UTC)
    a, b = await make_person(engine), await make_person(engine)
    idle = await make_match(engine, a, b, matched_at=now - timedelta(days=8))
    young = await make_match(engine, a, await make_person(engine), matched_at=now - timedelta(days=6))
    chatty = await make_match(engine, a, await make_person(engine), matched_at=now - timedelta(days=30),
                              last_message_at=now - timedelta(days=1))
    quiet = await make_match(engine, a, await make_person(engine), matched_at=now - timedelta(days=30),
                             last_message_at=now - timedelta(days=7, minutes=1))
    dating = await make_match(engine, a, await make_person(engine), state="dating",
                              matched_at=now - timedelta(days=30))
    async with online(server, a, b) as (ca, cb), event_log(redis_url, server.settings.extra["redis_prefix"]) as log:
        archived = await archive_all(make_sessionmaker(engine), log)
        assert archived >= 2
        for client in (ca, cb):
            assert (await client.next_event("match.updated"))["data"] == {
                "match_id": str(idle), "state": "archived", "reason": "inactive"}
        assert (await ca.next_event("match.updated"))["data"]["match_id"] == str(quiet)
        assert await archive_all(make_sessionmaker(engine), log) == 0  # nothing left to do
    for match_id, state in [(idle, "archived"), (young, "active"), (chatty, "active"), (quiet, "archived"),
                            (dating, "dating")]:
        assert await state_of(engine, match_id) == state


async def test_two_nodes_archive_each_match_once(engine: AsyncEngine, redis_url: str) -> None:
    """Jobs running at once on several nodes never archive a match twice (one match.updated per member)."""
    now = datetime.now(UTC)
    a = await make_person(engine)
    ids = [await make_match(engine, a, await make_person(engine), matched_at=now - timedelta(days=9))
           for _ in range(20)]
    async with event_log(redis_url, random_prefix()) as log:
        counts = await asyncio.gather(*(archive_all(make_sessionmaker(engine), log) for _ in range(4)))
    assert sum(counts) >= 20
    assert all([await state_of(engine, m) == "archived" for m in ids])
    assert await scalar(engine, "SELECT count(*) FROM user_events WHERE user_id = :u AND type = 'match.updated'",
                        u=a.id) == 20


async def test_server_runs_the_job_on_its_interval(database_url: str, redis_url: str, tmp_root: Path,
                                                   engine: AsyncEngine) -> None:
    """A server with a short jobs_interval_s archives an idle match by itself and tells the members' sockets."""
    a, b = await make_person(engine), await make_person(engine)
    settings = make_settings(database_url, redis_url, tmp_root / "media",
                             extra={"redis_prefix": random_prefix(), "jobs_interval_s": 0.2})
    async with run_server(settings) as node, online(node, a, b) as (ca, cb):
        match_id = await make_match(engine, a, b, matched_at=datetime.now(UTC) - timedelta(days=8))
        for client in (ca, cb):
            event = await client.next_event("match.updated", timeout=5)
            assert event["data"] == {"match_id": str(match_id), "state": "archived", "reason": "inactive"}


async def test_cli_run_once_prints_how_many(database_url: str, redis_url: str, engine: AsyncEngine) -> None:
    """`delete-api jobs run-once` archives idle matches and prints how many (then the discovery bounds job's count)."""
    a, b = await make_person(engine), await make_person(engine)
    match_id = await make_match(engine, a, b, matched_at=datetime.now(UTC) - timedelta(days=8))
    env = {k: v for k, v in os.environ.items() if k not in {"DATA_DIR", "MEDIA_DIR"}}
    env.update(DATABASE_URL=database_url, REDIS_URL=redis_url, JWT_SECRET=TEST_JWT_SECRET)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "delete_api.cli", "jobs", "run-once", env=env, cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    async with asyncio.timeout(60):
        out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    line, bounds = out.decode().strip().splitlines()
    assert line.startswith("archived ") and line.endswith(" idle matches") and int(line.split()[1]) >= 1, line
    assert bounds.startswith("tightened ") and bounds.endswith(" discovery rank bounds"), bounds
    assert await state_of(engine, match_id) == "archived"
