"""Reads that may lag: sessions on the read replica (``DATABASE_READ_URL``), or on the primary without one.

A ``ReadSessions`` is the process's choice of where a pure read that tolerates replication lag runs:
discovery's ranking query and its cards, chat history, the matches list, the likes received and the
moderators' searches and lists. Everything else — every write, and every check whose answer must be
current (is this person still eligible, still not blocked, still a moderator) — stays on the primary's
unit of work (``domain.transaction``). Without a replica ``replica`` is None and every read is exactly
the primary read it was before.

A read session never commits: it opens a transaction for its statements and rolls it back (on a hot
standby every transaction is read-only, so a write slipped into a read path fails there loudly). When the
replica cannot be reached the read runs on the primary instead (logged): a replica outage costs the
primary that load, never the reads themselves.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.raw_statements import RawStatement, Row
from domain.read_lane import ReadLane
from domain.transaction import unit_of_work

log = logging.getLogger("domain.read_sessions")
WARN_EVERY_S = 10.0  # an outage logs once per this many seconds, not once per read
_last_warning = [float("-inf")]


@dataclass(frozen=True, slots=True)
class ReadSessions:
    """The primary's session factory and, when one is configured, the read replica's."""

    primary: async_sessionmaker[AsyncSession]
    replica: async_sessionmaker[AsyncSession] | None = None
    lane: ReadLane | None = None  # kept autocommit connections for pure reads on the primary

    @asynccontextmanager
    async def lagging(self) -> AsyncIterator[AsyncSession]:
        """A session for a read that may lag behind the primary: the replica's, else a pure read on the primary
        (``primary_read``)."""
        if self.replica is not None:
            async with replica_session(self.replica) as read:
                if read is not None:
                    yield read
                    return
        async with self.primary_read() as session:
            yield session

    @asynccontextmanager
    async def primary_read(self) -> AsyncIterator[AsyncSession]:
        """A session for a pure read on the primary: the lane's (no transaction), else a unit of work. Also for a
        command whose write is one statement: in autocommit that statement commits alone."""
        if self.lane is None:
            async with unit_of_work(self.primary) as session:
                yield session
            return
        async with self.lane.session() as session:
            yield session

    async def fetch_alone(self, statement: RawStatement, params: Mapping[str, Any]) -> list[Row]:
        """``statement`` as its own transaction on the primary (a command that is one statement, like a pass): on a
        kept autocommit connection of the lane with no session around it, else in a unit of work."""
        if self.lane is None:
            async with unit_of_work(self.primary) as session:
                return await statement.fetch(session, params)
        return await self.lane.fetch(statement, params)

    @asynccontextmanager
    async def ranked(self) -> AsyncIterator[tuple[AsyncSession, AsyncSession | None]]:
        """For a read ranked on the replica and re-checked on the primary (discovery): the primary's session and
        the replica's. Without a replica there is nothing to re-check: the read runs on the primary alone,
        as a pure read (``primary_read``), and the second session is None."""
        if self.replica is None:
            async with self.primary_read() as session:
                yield session, None
            return
        async with unit_of_work(self.primary) as session, self.beside() as read:
            yield session, read

    @asynccontextmanager
    async def beside(self) -> AsyncIterator[AsyncSession | None]:
        """A replica session to use beside a primary transaction, or None without a replica (the service then
        reads from its primary session: no second connection), and None when the replica is unreachable."""
        if self.replica is None:
            yield None
            return
        async with replica_session(self.replica) as read:
            yield read


@asynccontextmanager
async def replica_session(maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession | None]:
    """A connected session whose transaction is always rolled back (reads only), or None when the replica
    cannot be reached."""
    async with maker() as session:
        if not await _reachable(session):
            yield None
            return
        try:
            yield session
        finally:
            await session.rollback()


async def _reachable(session: AsyncSession) -> bool:
    """Check a connection out for ``session`` (the pool pings it): False, logged, when the replica is down."""
    try:
        await session.connection()
    except (OSError, DBAPIError) as exc:
        if time.monotonic() - _last_warning[0] >= WARN_EVERY_S:
            _last_warning[0] = time.monotonic()
            log.warning("read replica unreachable (%s): reading from the primary", type(exc).__name__)
        return False
    return True
