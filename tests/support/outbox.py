"""Helpers of the mail tests: committed mails, the outbox's rows, a sender running for a block."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.mail.outbox import enqueue
from domain.mail.retry import RetryPolicy
from domain.mail.sender import MailSender
from domain.transaction import unit_of_work

# the sender's timing in tenths of seconds instead of minutes
FAST = RetryPolicy(first_retry_s=0.05, max_retry_s=0.2, lease_s=1.0, send_timeout_s=0.5, poll_s=0.05, batch=10)
TOKEN = "tok_" + "Z" * 40  # stands for a reset token in a link: it must never reach a log


async def enqueue_committed(sessions: async_sessionmaker[AsyncSession], count: int = 1, *,
                            to: str = "someone.private@example.test") -> list[uuid.UUID]:
    """``count`` mails committed in one transaction; their ids in order."""
    async with unit_of_work(sessions) as session:
        return [await enqueue(session, to, f"Mail {n}", f"Hello {n}: https://app.test/r#token={TOKEN}",
                              f"<p>Hello {n}: <a href='https://app.test/r#token={TOKEN}'>reset</a></p>")
                for n in range(count)]


async def outbox_rows(sessions: async_sessionmaker[AsyncSession]) -> list[Any]:
    """Every row of the outbox, oldest first."""
    async with sessions() as session:
        return list((await session.execute(text("SELECT * FROM mail_outbox ORDER BY created_at, id"))).all())


@asynccontextmanager
async def running(*senders: MailSender) -> AsyncIterator[None]:
    """The senders' loops run for the block (stopped gracefully after it)."""
    for sender in senders:
        sender.start()
    try:
        yield
    finally:
        for sender in senders:
            await sender.stop()
