"""The unit of work: one session and transaction per request or socket message.

Services never commit. The edge opens ``unit_of_work``; services register
``after_commit`` callbacks (publishing events, deleting files) that run only
once the transaction has committed and are dropped on rollback. A
``DomainError`` with ``keep_changes = True`` (a detected token reuse revoking
its family) commits what was written before it is raised.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.errors import DomainError

log = logging.getLogger("domain.transaction")

AfterCommit = Callable[[], Awaitable[None]]


def after_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run ``callback`` once the session's transaction commits; never on rollback."""
    session.info.setdefault("after_commit", []).append(callback)


@asynccontextmanager
async def unit_of_work(maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """Yield a session; commit on success, roll back on error, then run after-commit callbacks."""
    async with maker() as session:
        try:
            yield session
        except DomainError as exc:
            if exc.keep_changes:
                await session.commit()
                await run_after_commit(session.info.pop("after_commit", []))
            else:
                await session.rollback()
                session.info.pop("after_commit", None)
            raise
        except BaseException:
            await session.rollback()
            session.info.pop("after_commit", None)
            raise
        else:
            await session.commit()
        callbacks: list[AfterCommit] = session.info.pop("after_commit", [])
    await run_after_commit(callbacks)


async def run_after_commit(callbacks: list[AfterCommit]) -> None:
    """Run each callback; one that fails is logged and the others still run."""
    for callback in callbacks:
        try:
            await callback()
        except Exception:
            log.exception("after-commit callback failed")
