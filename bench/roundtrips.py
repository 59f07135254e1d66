"""Round trips per socket command: PostgreSQL statements, transactions, pool pings and Redis commands.

``python -m bench roundtrips`` starts the real app in this process (uvicorn, embedded PostgreSQL and
Redis in a temporary directory, or ``DATABASE_URL``/``REDIS_URL``), makes a few complete profiles, and runs
each command of the load mix several times over a real socket while counting, through SQLAlchemy's and
redis-py's own hooks, what each one sends: SQL statements, BEGIN/COMMIT, pool pings and Redis
commands (a pipeline counts once), and how many objects each call left in reference cycles
(``cyclic_garbage``: only the cyclic collector frees them, and its runs pause the event loop). It prints
one JSON document: per command, the counts per call, the wall time (median) and the CPU time of this
process (server and client together, publishing included) per call. The load benchmark's closing note
cites these counts; they say where a command's time goes before any profile does.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any

import redis.asyncio.client as redis_client
import redis.asyncio.connection as redis_connection
from delete_client import DeleteClient
from sqlalchemy import event, insert, text
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.engine import Engine
from sqlalchemy.engine.default import DefaultDialect
from sqlalchemy.pool import Pool

from delete_api.database import make_engine
from delete_api.settings import Secret, Settings
from domain.auth.tokens import TokenConfig, issue
from domain.compatibility.scoring import badges, vector
from domain.compatibility.traits import TRAIT_KEYS
from domain.models import Photo, QuizResponse, TokenFamily, User, UserBadge, UserTrait
from domain.photos.storage import new_key

COUNTS: Counter[str] = Counter()
JWT = secrets.token_urlsafe(48)


def _install_counters() -> None:
    """Count what goes over the wire, through the libraries' public hooks (and redis-py's send path)."""
    event.listen(Engine, "before_cursor_execute", lambda *a: COUNTS.update(["sql"]))
    event.listen(Engine, "begin", lambda *a: COUNTS.update(["begin"]))
    event.listen(Engine, "commit", lambda *a: COUNTS.update(["commit"]))
    event.listen(Engine, "rollback", lambda *a: COUNTS.update(["rollback"]))
    event.listen(Pool, "checkout", lambda *a: COUNTS.update(["pool_checkout"]))
    ping = AsyncAdapt_asyncpg_connection.ping

    def counted_ping(self: Any) -> None:  # a pre-ping: BEGIN, ";" and ROLLBACK, three round trips
        COUNTS.update(["ping_3_round_trips"])
        ping(self)  # type: ignore[no-untyped-call]  # SQLAlchemy leaves the adapter's ping unannotated

    AsyncAdapt_asyncpg_connection.ping = counted_ping  # type: ignore[method-assign]  # counting on purpose
    generic_ping = DefaultDialect.do_ping

    def counted_generic_ping(self: Any, dbapi_connection: Any) -> bool:  # autocommit only
        COUNTS.update(["ping_select_1"])
        return generic_ping(self, dbapi_connection)

    DefaultDialect.do_ping = counted_generic_ping  # type: ignore[method-assign]  # counting on purpose
    send = redis_connection.AbstractConnection.send_packed_command

    async def counted(self: Any, command: Any, check_health: bool = True) -> None:
        COUNTS.update(["redis"])
        await send(self, command, check_health)

    redis_connection.AbstractConnection.send_packed_command = counted  # type: ignore[method-assign]  # counting
    _ = redis_client  # the pub/sub listener reads without sending: it is not counted


async def _person(sessions: Any, k: int) -> tuple[uuid.UUID, str]:
    config = TokenConfig(secret=JWT)
    user_id, family = uuid.uuid4(), uuid.uuid4()
    answers = dict.fromkeys(TRAIT_KEYS, 1 + k % 5)
    async with sessions.begin() as s:
        await s.execute(insert(User).values(
            id=user_id, email=f"rt-{k}-{user_id.hex[:6]}@example.test", password_hash="-",  # noqa: S106 - never logs in
            display_name=f"P{k}",
            birthdate=date(1994, 5, 5), gender="woman" if k % 2 else "man", interested_in=["woman", "man"],
            lat=52.5 + k * 0.001, lon=13.4, max_distance_km=100))
        await s.execute(insert(Photo).values(id=uuid.uuid4(), user_id=user_id, position=0, storage_key=new_key(),
                                             thumb_key=new_key(), width=10, height=10))
        await s.execute(insert(QuizResponse).values(user_id=user_id, answers=answers))
        await s.execute(insert(UserTrait).values(user_id=user_id, traits=vector(answers)))
        for badge in badges(answers):
            await s.execute(insert(UserBadge).values(user_id=user_id, badge=badge))
        await s.execute(insert(TokenFamily).values(id=family, user_id=user_id))
    return user_id, issue(config, "access", user_id, family)[0]


@asynccontextmanager
async def _app(database_url: str, redis_url: str, media: Path) -> AsyncIterator[str]:
    from tests.support.server import run_server

    settings = Settings(database_url=Secret(database_url), redis_url=Secret(redis_url), jwt_secret=Secret(JWT),
                        bcrypt_cost=4, media_dir=media,
                        # the mail sender polls the outbox once at start, then not while commands are counted
                        extra={"redis_prefix": f"rt{secrets.token_hex(3)}:", "mail_poll_s": "3600"})
    async with run_server(settings) as server:
        yield server.ws_url + "/v1/ws"


async def _measure(name: str, calls: int, action: Callable[[int], Awaitable[Any]]) -> dict[str, Any]:
    await action(-1)  # warm: first-use costs are not per command
    await asyncio.sleep(0.05)
    gc.collect()
    gc.disable()  # what the calls leave in reference cycles is counted by one collection after them
    try:
        before, times, cpu = Counter(COUNTS), [], 0.0
        for k in range(calls):
            started, cpu_started = time.perf_counter(), time.process_time()
            await action(k)
            times.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(0.06)  # let publishing finish in the window; stay under 20 commands/s per socket
            cpu += time.process_time() - cpu_started
        delta = COUNTS - before
        delta["cyclic_garbage"] = gc.collect()
    finally:
        gc.enable()
    per_call = {k: round(v / calls, 2) for k, v in sorted(delta.items())}
    return {"command": name, "per_call": per_call, "ms_median": round(statistics.median(times), 2),
            "cpu_ms": round(cpu * 1000 / calls, 2)}


async def probe(database_url: str, redis_url: str, media: Path) -> list[dict[str, Any]]:
    from delete_api.database import make_sessionmaker

    engine = make_engine(database_url, pool_size=2)
    sessions = make_sessionmaker(engine)
    people = [await _person(sessions, k) for k in range(60)]
    ids = [str(p[0]) for p in people]
    a_id, a_token = people[0]
    b_id, b_token = people[1]
    match_id = uuid.uuid4()
    async with sessions.begin() as s:
        low, high = sorted((a_id, b_id))
        await s.execute(text("INSERT INTO matches (id, user_a, user_b) VALUES (:i, :a, :b)"),
                        {"i": match_id, "a": low, "b": high})
        for liker, _ in people[30:45]:  # likes waiting for A, to like back (each makes a match)
            await s.execute(text("INSERT INTO likes (id, liker_id, likee_id) VALUES (:i, :l, :t)"),
                            {"i": uuid.uuid4(), "l": liker, "t": a_id})
    _install_counters()
    await engine.dispose()
    results = []
    async with _app(database_url, redis_url, media) as url:
        b = DeleteClient(url, b_token)
        await b.connect()
        a = DeleteClient(url, a_token)

        async def connect(k: int) -> None:
            client = DeleteClient(url, people[50 + k % 10][1])
            await client.connect()
            await client.close()

        results.append(await _measure("connect (auth, hello, presence) + close", 5, connect))
        await a.connect()
        sent: list[str] = []

        async def send(k: int) -> None:
            reply = await a.call("messages.send", {"match_id": str(match_id), "body": "hello",
                                                  "client_msg_id": f"m{k}-{secrets.token_hex(3)}"})
            sent.append(reply["message"]["id"])

        cases: list[tuple[str, int, Callable[[int], Awaitable[Any]]]] = [
            ("ping", 20, lambda k: a.call("ping")),
            ("pass", 10, lambda k: a.call("pass", {"user_id": ids[2 + k + 1]})),
            ("messages.send", 10, send),
            ("messages.read", 10, lambda k: b.call("messages.read", {"match_id": str(match_id), "up_to": sent[k]})),
            ("typing", 10, lambda k: a.call("typing", {"match_id": str(match_id)})),
            ("discovery.request (10 cards)", 5, lambda k: a.call("discovery.request", {"count": 10})),
            ("matches.list", 10, lambda k: a.call("matches.list", {"limit": 20})),
            ("likes.pending", 10, lambda k: a.call("likes.pending")),
            ("messages.history", 10, lambda k: a.call("messages.history", {"match_id": str(match_id), "limit": 20})),
            ("like (makes a match)", 4, lambda k: a.call("like", {  # warm-up + 4: the 60-second rule allows 5
                "user_id": ids[31 + k], "comment": f"Hello there number {k} {secrets.token_hex(2)}"})),
            ("sync (nothing new)", 10, lambda k: a.call("sync", {"after": a.last_seq})),
        ]
        for name, calls, action in cases:
            results.append(await _measure(name, calls, action))
        await a.close()
        await b.close()

    return results


def _sqlalchemy_pre_ping() -> None:
    """``--pre-ping``: the engine as it was, SQLAlchemy's own three-round-trip ping on every checkout."""
    import delete_api.database as database

    vars(database)["_ping_with_the_begin"] = lambda engine: None


def run_probe(probe_fn: Callable[[str, str, Path], Coroutine[Any, Any, Any]]) -> Any:
    """``probe_fn(database_url, redis_url, media_dir)`` on uvloop, with the embedded PostgreSQL and Redis in a
    temporary directory (or ``DATABASE_URL``/``REDIS_URL``), migrated first; its result."""
    from delete_api import migrate
    from delete_api.embedded.postgres import EmbeddedPostgres
    from delete_api.embedded.redis import EmbeddedRedis

    with tempfile.TemporaryDirectory(prefix="delete-rt-") as root:
        pg = redis = None
        try:
            if os.environ.get("DATABASE_URL"):
                database_url = os.environ["DATABASE_URL"]
            else:
                pg = EmbeddedPostgres(Path(root) / "pg")
                pg.start()
                pg.ensure_database("rt")
                database_url = pg.url("rt")
            if os.environ.get("REDIS_URL"):
                redis_url = os.environ["REDIS_URL"]
            else:
                redis = EmbeddedRedis(Path(root) / "redis")
                redis.start()
                redis_url = redis.url
            migrate.upgrade(database_url)
            import uvloop

            return uvloop.run(probe_fn(database_url, redis_url, Path(root) / "media"))
        finally:
            if redis is not None:
                redis.stop()
            if pg is not None:
                pg.stop()


def run(args: argparse.Namespace) -> int:
    """``python -m bench roundtrips``: print the JSON document (``--pre-ping``: the engine's old ping)."""
    if args.pre_ping:
        _sqlalchemy_pre_ping()
    results = run_probe(probe)
    json.dump(results, sys.stdout, indent=1)
    print()
    return 0
