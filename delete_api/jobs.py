"""Scheduled jobs: run inside every server process on an interval, or once from ``delete-api jobs run-once``.

Every node runs the loop; the jobs themselves are safe to run on several nodes at
once (``FOR UPDATE SKIP LOCKED``), so no leader election is needed. The interval
is ``settings.extra["jobs_interval_s"]`` (default 3600 s); the first run comes
after ``min(interval, FIRST_RUN_MAX_DELAY_S)`` so that frequent restarts cannot
starve the job.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from domain.background import cancel_and_wait

if TYPE_CHECKING:  # the CLI builds its parser from this module: keep importing it cheap
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from delete_api.settings import Settings
    from domain.events.log import EventLog

log = logging.getLogger("delete_api.jobs")

DEFAULT_INTERVAL_S = 3600.0
FIRST_RUN_MAX_DELAY_S = 60.0


def interval_s(settings: Settings) -> float:
    """The jobs' interval from ``settings.extra["jobs_interval_s"]`` (tests shorten it)."""
    return max(0.05, float(settings.extra.get("jobs_interval_s", DEFAULT_INTERVAL_S)))


async def archive_all(sessions: async_sessionmaker[AsyncSession], events: EventLog,
                      now: datetime | None = None) -> int:
    """Archive every idle match, one transaction per batch; return how many."""
    from domain.jobs.archive import BATCH, archive_idle_matches
    from domain.transaction import unit_of_work

    now = now or datetime.now(UTC)
    total = 0
    while True:
        async with unit_of_work(sessions) as session:
            count = await archive_idle_matches(session, events, now, BATCH)
        total += count
        if count < BATCH:
            return total


async def tighten_discovery_bounds(sessions: async_sessionmaker[AsyncSession]) -> int:
    """Lower every loose ``users.rank_bound`` (domain/discovery/bounds.py), one transaction per batch."""
    from domain.discovery.bounds import BATCH, tighten
    from domain.transaction import unit_of_work

    total = 0
    while True:
        async with unit_of_work(sessions) as session:
            count = await tighten(session, BATCH)
        total += count
        if count < BATCH:
            return total


class JobRunner:
    """The in-process schedule: ``start`` in the lifespan, ``stop`` before the resources close."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], events: EventLog, every_s: float) -> None:
        self.sessions = sessions
        self.events = events
        self.every_s = every_s
        self.runs = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="delete-jobs")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _loop(self) -> None:
        await asyncio.sleep(min(self.every_s, FIRST_RUN_MAX_DELAY_S))
        while True:
            try:
                archived = await archive_all(self.sessions, self.events)
                if archived:
                    log.info("archived %d idle matches", archived)
            except Exception:
                log.exception("archive job failed; retrying at the next interval")
            try:
                tightened = await tighten_discovery_bounds(self.sessions)
                if tightened:
                    log.info("tightened %d discovery rank bounds", tightened)
            except Exception:
                log.exception("discovery bounds job failed; retrying at the next interval")
            self.runs += 1
            await asyncio.sleep(self.every_s)


async def run_once(settings: Settings) -> tuple[int, int]:
    """Run every job once against ``settings``' database and Redis; return the number of archived matches and
    of discovery rank bounds tightened."""
    from delete_api.database import make_engine, make_sessionmaker
    from domain.events.log import EventLog
    from infra.redis_cluster import client_from_url
    from infra.redis_publisher import RedisPublisher

    assert settings.database_url is not None and settings.redis_url is not None
    engine = make_engine(settings.database_url.reveal(), pool_size=1)
    redis = client_from_url(settings.redis_url.reveal(), socket_timeout=5, socket_connect_timeout=3)
    publisher = RedisPublisher(redis)
    try:
        events = EventLog(publisher, str(settings.extra.get("redis_prefix", "delete:")))
        sessions = make_sessionmaker(engine)
        archived = await archive_all(sessions, events)
        return archived, await tighten_discovery_bounds(sessions)
    finally:
        await publisher.close()
        await redis.aclose()
        await engine.dispose()


def cmd_run_once(args: argparse.Namespace, settings: Settings) -> int:
    from delete_api import migrate
    from delete_api.embedded.stack import embedded_stack

    with embedded_stack(settings) as resolved:
        assert resolved.database_url
        if settings.embedded_database:
            migrate.upgrade(resolved.database_url.reveal())
        archived, tightened = asyncio.run(run_once(resolved))
    print(f"archived {archived} idle matches")
    print(f"tightened {tightened} discovery rank bounds")
    return 0


def add_parser(sub: Any) -> None:
    """Register ``jobs run-once`` on the CLI's subcommands."""
    jobs = sub.add_parser("jobs", help="scheduled jobs (they also run inside every server)",
                          description="Scheduled jobs. Every server runs them on an interval; this runs them now.")
    kinds = jobs.add_subparsers(dest="job_command", required=True, metavar="ACTION")
    once = kinds.add_parser("run-once", help="run every job once and report what it did",
                            description="Archive active matches without a message for 7 days (telling both "
                                        "members) and print how many were archived.")
    once.set_defaults(handler=cmd_run_once)
