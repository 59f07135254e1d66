"""Reads on the primary without a transaction: a few kept autocommit connections, else the unit of work.

A pure read on the primary (discovery's ranking and cards without a replica, the likes waiting for an
answer, the matches list) ran in a unit of work of its own: a connection checked out of the pool (whose
ping opens the transaction), the statements, a COMMIT, the check-in, and SQLAlchemy's session around them,
about a millisecond of a discovery batch that PostgreSQL does not need: in READ COMMITTED every statement
takes its own snapshot anyway, so a read gains nothing from the transaction. A ``ReadLane`` keeps ``width``
connections in autocommit (``domain.batch_connection``, each returned to the pool after a second unused) and
hands a read one that is free, in a session bound to it; when all are busy the read runs in a unit of work as
before, so the lane never makes a read wait. A write that is a single statement (a pass, see
``domain.social.pass_function``) runs on a kept connection too, with no session around it (``fetch``): in
autocommit it is its own transaction, and a kept connection found gone costs it no failure (it runs once more on a
new one, as a coalesced read does).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.batch_connection import LINGER_S, BatchConnection
from domain.raw_statements import RawStatement, Row
from domain.transaction import unit_of_work

WIDTH = 4


class ReadLane:
    """``session()`` for a pure read on the primary: on a free kept connection, else in a unit of work."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], width: int = WIDTH,
                 linger_s: float = LINGER_S) -> None:
        self._sessions = sessions
        engine: Any = sessions.kw["bind"]
        self._free = [BatchConnection(engine, linger_s) for _ in range(width)]
        self._all = list(self._free)
        self.overflows = 0  # reads that found every kept connection busy (for tests and benchmarks)

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        if not self._free:
            self.overflows += 1
            async with unit_of_work(self._sessions) as session:
                yield session
            return
        kept = self._free.pop()
        try:
            async with kept.session() as session:
                yield session
        finally:
            self._free.append(kept)

    async def fetch(self, statement: RawStatement, params: Mapping[str, Any]) -> list[Row]:
        """``statement`` run alone (autocommit: its own transaction) on a free kept connection, past SQLAlchemy's
        session: one round trip, and once more on a fresh connection when the kept one is found gone; in a unit of
        work when all are busy."""
        if not self._free:
            self.overflows += 1
            async with unit_of_work(self._sessions) as session:
                return await statement.fetch(session, params)
        kept = self._free.pop()
        try:
            return await kept.fetch(statement, params)
        finally:
            self._free.append(kept)

    async def close(self) -> None:
        """Return every kept connection to the pool (the server stops)."""
        for kept in self._all:
            await kept.close()
