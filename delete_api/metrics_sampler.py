"""Gauges read on a schedule rather than on every event: the PostgreSQL pool and the mail outbox.

Every ``interval_s`` (5 s) the pool's checked-out, size and overflow counts and the outbox's depth and oldest
age are copied into their gauges, so a scrape never queries the database and never waits on the event loop.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from domain.background import cancel_and_wait
from domain.mail.outbox import outbox_stats
from infra import metrics

log = logging.getLogger("delete_api.metrics")
INTERVAL_S = 5.0


class MetricsSampler:
    """The background task that samples the pool and the outbox into gauges."""

    def __init__(self, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], version: str,
                 interval_s: float = INTERVAL_S, *, replica: AsyncEngine | None = None) -> None:
        self.engine = engine
        self.replica = replica  # the read replica's engine (DATABASE_READ_URL), sampled as pool="replica"
        self.sessions = sessions
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None
        metrics.build_info.labels(version).set(1)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="metrics-sampler")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)

    async def _run(self) -> None:
        while True:
            await self.sample()
            await asyncio.sleep(self.interval_s)

    @staticmethod
    def _sample_pool(label: str, engine: AsyncEngine) -> None:
        for gauge, reading in ((metrics.db_pool_checked_out, "checkedout"), (metrics.db_pool_size, "size"),
                               (metrics.db_pool_overflow, "overflow")):
            read = getattr(engine.pool, reading, None)
            if callable(read):
                gauge.labels(label).set(read())

    async def sample(self) -> None:
        """Copy the pool's and the outbox's figures into their gauges (a failed outbox read keeps the last)."""
        self._sample_pool("primary", self.engine)
        if self.replica is not None:
            self._sample_pool("replica", self.replica)
        try:
            async with self.sessions() as session:
                stats = await outbox_stats(session)
        except (SQLAlchemyError, OSError) as exc:
            log.warning("mail outbox not sampled (%s)", type(exc).__name__)
            return
        metrics.mail_outbox_depth.set(stats.depth)
        metrics.mail_outbox_oldest.set(stats.oldest_age_s or 0.0)
