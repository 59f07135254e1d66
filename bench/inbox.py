"""``python -m bench inbox``: ``matches.list`` latency for a person with many matches (unread counts included).

One person with ``--matches`` matches (500 by default), each with ``--messages`` messages alternating between
the two (so half are the partner's), the person's read position half-way through in every other match. Then
``matches.list`` pages of 50 (the maximum) are timed through the domain service on a pooled engine, as the
socket command runs it (one transaction: the page with its unread counts and newest messages in one query, the
cards in a second), paging through every match, ``--rounds`` times. Prints one JSON document: p50/p95/p99 per
page and the verdict against the target (p95 <= 50 ms). A throwaway database: the embedded PostgreSQL in a
temporary directory, or one created on the server of ``DATABASE_URL``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from bench import stats
from bench.harness import BenchError, say, throwaway_database
from delete_api.database import make_sessionmaker
from delete_api.settings import Settings
from domain.models import MatchRead, Message
from domain.photos.storage import LocalMediaStorage
from domain.social import matches
from domain.social.rules import LIST_MAX_LIMIT
from domain.transaction import unit_of_work
from tests.support.factory import Person, make_match, make_person
from tests.support.pg import pooled_engine

TARGET_P95_MS = 50.0


async def _seed_match(engine: AsyncEngine, me: Person, n: int, messages: int, start: datetime) -> None:
    other = await make_person(engine, name=f"Partner {n}")
    match_id = await make_match(engine, me, other, matched_at=start + timedelta(minutes=n))
    rows = [{"id": uuid.uuid4(), "match_id": match_id, "sender_id": other.id if k % 2 == 0 else me.id,
             "body": f"message {k} of match {n}: " + "words " * 20, "client_msg_id": uuid.uuid4().hex,
             "created_at": start + timedelta(minutes=n, seconds=k + 1)} for k in range(messages)]
    async with engine.begin() as conn:
        if rows:
            await conn.execute(insert(Message), rows)
        if n % 2 == 0 and rows:
            middle = rows[len(rows) // 2]
            await conn.execute(insert(MatchRead).values(match_id=match_id, user_id=me.id,
                                                        up_to_message_id=middle["id"],
                                                        up_to_at=middle["created_at"]))


async def _seed(engine: AsyncEngine, count: int, messages: int) -> Person:
    me = await make_person(engine, name="Inbox")
    start = datetime.now(UTC) - timedelta(days=30)
    for n in range(count):
        await _seed_match(engine, me, n, messages, start)
        if (n + 1) % 100 == 0:
            say(f"seeded {n + 1} of {count} matches")
    return me


async def _page_through(engine: AsyncEngine, storage: LocalMediaStorage, me: Person) -> list[int]:
    """Every page of ``me``'s matches; the nanoseconds of each page's transaction."""
    sessions = make_sessionmaker(engine)
    samples, cursor, seen = [], None, 0
    while True:
        started = time.perf_counter_ns()
        async with unit_of_work(sessions) as session:
            page = await matches.list_matches(session, storage, me.id, None, cursor, LIST_MAX_LIMIT)
        samples.append(time.perf_counter_ns() - started)
        seen += len(page["matches"])
        cursor = page["next_cursor"]
        if cursor is None:
            return samples if seen else []


async def _measure(url: str, args: argparse.Namespace, media: Path) -> dict[str, Any]:
    async with pooled_engine(url, pool_size=2) as engine:
        say(f"seeding one person with {args.matches} matches of {args.messages} messages each")
        me = await _seed(engine, args.matches, args.messages)
        storage = LocalMediaStorage(media, "http://media.bench")
        await _page_through(engine, storage, me)  # warm the caches and the pool
        samples: list[int] = []
        for round_ in range(args.rounds):
            samples += await _page_through(engine, storage, me)
            if (round_ + 1) % 10 == 0:
                say(f"round {round_ + 1} of {args.rounds}")
    ms = sorted(v / 1e6 for v in samples)
    if not ms:
        raise BenchError("no page was listed")
    return {"pages": len(ms), "p50_ms": round(stats.percentile(ms, 50), 2),
            "p95_ms": round(stats.percentile(ms, 95), 2), "p99_ms": round(stats.percentile(ms, 99), 2),
            "max_ms": round(ms[-1], 2)}


def run(args: argparse.Namespace, settings: Settings) -> int:
    """``python -m bench inbox``: print the JSON document; 1 if the benchmark could not run."""
    import logging

    for noisy in ("alembic", "delete_api.migrate"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        with ExitStack() as stack:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="delete-bench-inbox-")))
            url = throwaway_database(stack, settings, work, "delete_bench_inbox", why="as in production")
            figures = asyncio.run(_measure(url, args, work / "media"))
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    document = {"benchmark": "inbox", "matches": args.matches, "messages_per_match": args.messages,
                "page_size": LIST_MAX_LIMIT, "rounds": args.rounds, **figures, "target_p95_ms": TARGET_P95_MS,
                "verdict": "met" if figures["p95_ms"] <= TARGET_P95_MS else "missed"}
    output = json.dumps(document, indent=2)
    print(output)
    if args.json_out:
        Path(args.json_out).write_text(output + "\n")
    return 0
