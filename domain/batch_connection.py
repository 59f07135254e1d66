"""The connection one kind of coalesced read keeps while its batches keep coming (a reconnect storm).

Sockets that connect together have their logins checked, their stream positions read and their partners
found in one statement per batch (``domain.coalescing``). Taking a pooled connection and a session for each
batch cost more than the statement: the pool's ping on checkout opens a transaction, the check-in rolls it
back (three round trips where one is needed) and SQLAlchemy's session machinery runs around them. A
``BatchConnection`` checks a connection out for the first batch, switches it to autocommit and runs each
batch's statement on it alone (``RawStatement.fetch_on``): one round trip per batch. Every such statement is a
plain read of the primary that sees what was committed before it, as it did in a transaction of its own.

The connection goes back to the pool once no batch came for ``linger_s`` (a storm holds it, an idle node does
not), and on ``close``. When the statement fails because the connection is gone (PostgreSQL restarted, a
failover), it runs once more on a newly checked-out one, so a restart costs no failed connect, as the pool's
ping on checkout promised before. The two round trips of a lease (the ping's BEGIN, the ROLLBACK of the switch
to autocommit) reach the engine's ``begin``/``rollback`` listeners (see ``_leased``), so the round-trip
counters stay exact.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from domain.raw_statements import RawStatement, Row
from domain.transaction import AfterCommit, run_after_commit

log = logging.getLogger("domain.batch_connection")

LINGER_S = 1.0


class BatchConnection:
    """One pooled connection in autocommit for a coalesced read, kept between batches; ``close`` returns it."""

    def __init__(self, engine: AsyncEngine, linger_s: float = LINGER_S) -> None:
        self._engine = engine
        self._linger_s = linger_s
        self._connection: AsyncConnection | None = None
        self._lock = asyncio.Lock()
        self._last_used = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._releasing: asyncio.Task[None] | None = None
        self.leases = 0  # connections checked out so far (for tests)

    @property
    def holding(self) -> bool:
        """True while a connection is checked out."""
        return self._connection is not None

    async def fetch(self, statement: RawStatement, params: Mapping[str, Any]) -> list[Row]:
        """``statement``'s rows, run alone on the kept connection (checked out first if none is kept)."""
        async with self._lock:
            try:
                return await self._fetch(statement, params)
            finally:
                self._last_used = asyncio.get_running_loop().time()
                self._arm()

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session on the kept connection for a read of several statements (autocommit: no BEGIN, no COMMIT);
        after-commit callbacks run at the end, as a unit of work would run them. A connection found gone is
        dropped (the read fails, as any statement on a dead connection does; the next one gets a new one)."""
        async with self._lock:
            session = AsyncSession(bind=await self._leased(), expire_on_commit=False, autoflush=False,
                                   join_transaction_mode="rollback_only")
            gone = False
            try:
                yield session
            except DBAPIError as exc:
                gone = exc.connection_invalidated
                raise
            finally:
                callbacks: list[AfterCommit] = session.info.pop("after_commit", [])
                await session.close()
                if gone:
                    await self._drop()
                self._last_used = asyncio.get_running_loop().time()
                self._arm()
        await run_after_commit(callbacks)

    async def close(self) -> None:
        """Return the connection to the pool now (the server stops); a later fetch checks one out again."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._releasing is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._releasing
        async with self._lock:
            await self._drop()

    async def _fetch(self, statement: RawStatement, params: Mapping[str, Any]) -> list[Row]:
        try:
            return await statement.fetch_on(await self._leased(), params)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        await self._drop()  # the connection was gone: once more on a fresh one
        return await statement.fetch_on(await self._leased(), params)

    async def _leased(self) -> AsyncConnection:
        if self._connection is not None:
            return self._connection
        connection = await self._engine.connect()  # the pool's ping opened a transaction (see delete_api/database)
        try:
            await connection.execution_options(isolation_level="AUTOCOMMIT")  # rolls that transaction back
            # held for the lease: nothing on the wire in autocommit, but SQLAlchemy's ``begin`` event now and its
            # ``rollback`` event at check-in count the ping's BEGIN and the switch's ROLLBACK, and sessions bound
            # to the connection join this transaction instead of beginning (and counting) one of their own
            await connection.begin()
        except BaseException:
            await connection.close()
            raise
        self._connection = connection
        self.leases += 1
        return connection

    async def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                await connection.close()
            except Exception as exc:  # a connection that is gone is closed all the same
                log.debug("batch connection closed with %s", type(exc).__name__)

    def _arm(self) -> None:
        if self._timer is None and self._connection is not None:
            self._timer = asyncio.get_running_loop().call_later(self._linger_s, self._due)

    def _due(self) -> None:
        self._timer = None
        idle = asyncio.get_running_loop().time() - self._last_used
        if idle < self._linger_s:  # used meanwhile: wait for the rest of the linger time
            self._timer = asyncio.get_running_loop().call_later(self._linger_s - idle, self._due)
        elif self._releasing is None or self._releasing.done():
            self._releasing = asyncio.create_task(self._release_idle(), name="batch-connection-release")

    async def _release_idle(self) -> None:
        async with self._lock:
            if asyncio.get_running_loop().time() - self._last_used >= self._linger_s:
                await self._drop()
            else:
                self._arm()
