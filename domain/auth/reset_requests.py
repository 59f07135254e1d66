"""The work behind ``password/forgot``, done after the answer went out, so the answer cannot tell accounts apart.

The request handler only calls ``submit(email)`` (no database, no hashing) and answers 202 ``{}``; this
process's worker then looks the address up and, for an account, writes the reset mail
(``password_reset.request_reset``) in a transaction of its own. Both kinds of request therefore do the same work
before the answer. The worker starts on a request ``SETTLE_S`` after it was submitted, so that even the work of a
real account (a few queries, a commit, the mail) never runs while the answer is still on its way to the client:
on the same host it would compete for the CPU and the answer would take longer.

The queue is bounded: past ``capacity`` waiting requests a request is dropped (logged, without the address), as
are requests still waiting at shutdown after a short grace; a crash loses the waiting ones. In each case the
person simply asks again; nothing else depends on a reset mail.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.auth.account_mail import AccountMail
from domain.auth.password_reset import request_reset
from domain.background import cancel_and_wait
from domain.transaction import unit_of_work

log = logging.getLogger("domain.auth")

CAPACITY = 1000
STOP_GRACE_S = 3.0
SETTLE_S = 0.1


class ResetRequests:
    """``submit`` from the request; ``start`` and ``stop`` in the lifespan."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], mail: AccountMail,
                 capacity: int = CAPACITY, settle_s: float = SETTLE_S) -> None:
        self.sessions = sessions
        self.mail = mail
        self.settle_s = settle_s
        self._queue: asyncio.Queue[tuple[float, str]] = asyncio.Queue(maxsize=capacity)
        self._task: asyncio.Task[None] | None = None

    def submit(self, email: str) -> None:
        """Hand ``email`` to the worker; never waits, never fails (a full queue drops the request)."""
        try:
            self._queue.put_nowait((asyncio.get_running_loop().time() + self.settle_s, email))
        except asyncio.QueueFull:
            log.warning("password reset requests: %d waiting, one dropped", self._queue.qsize())

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="delete-reset-requests")

    async def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """Work through what is waiting for up to ``grace_s``, then stop (the rest is dropped, logged)."""
        if self._task is None:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace_s):
                await self._queue.join()
        await cancel_and_wait(self._task)
        self._task = None
        if not self._queue.empty():
            log.warning("password reset requests: %d dropped at shutdown", self._queue.qsize())

    async def _loop(self) -> None:
        while True:
            due, email = await self._queue.get()
            try:
                await asyncio.sleep(due - asyncio.get_running_loop().time())
                async with unit_of_work(self.sessions) as session:
                    await request_reset(session, self.mail, email)
            except Exception as exc:  # the class only: the statement's values would include the address
                log.warning("password reset request failed (%s)", type(exc).__name__)
            finally:
                self._queue.task_done()
