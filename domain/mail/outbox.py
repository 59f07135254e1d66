"""Writing a mail into the outbox inside the caller's transaction, and the outbox's figures.

A mail enqueued in a transaction that rolls back never existed; one enqueued in a transaction that commits
is sent by some node's ``MailSender`` within its poll interval (sooner with ``wake``). Nothing here logs a
body, a subject or an address: the log gets the row id and the recipient's domain only.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, delete, extract, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.mail.compose import recipient_domain
from domain.models.base import table
from domain.models.mail import MAX_ADDRESS_CHARS, MailOutbox
from domain.transaction import after_commit

log = logging.getLogger("domain.mail")

OUTBOX = table(MailOutbox)
MAX_SUBJECT_CHARS = 200
_FORBIDDEN_IN_ADDRESS = frozenset(" \t\r\n<>,;\"()[]\\")

PENDING = and_(OUTBOX.c.sent_at.is_(None), OUTBOX.c.failed_at.is_(None))


def check_address(address: str) -> None:
    """Raise ``ValueError`` unless ``address`` is a bare ``local@domain`` that cannot inject a header."""
    local, at, domain = address.rpartition("@")
    if not (at and local and "." in domain.strip(".") and len(address) <= MAX_ADDRESS_CHARS):
        raise ValueError("not an email address")
    if _FORBIDDEN_IN_ADDRESS.intersection(address) or not address.isprintable():
        raise ValueError("not a bare email address")


def _check_subject(subject: str) -> None:
    if not subject or len(subject) > MAX_SUBJECT_CHARS or not subject.isprintable():
        raise ValueError(f"a subject is 1 to {MAX_SUBJECT_CHARS} printable characters on one line")


async def enqueue(session: AsyncSession, to: str, subject: str, text: str, html: str, *,
                  wake: Callable[[], None] | None = None) -> uuid.UUID:
    """Write a mail to ``to`` in ``session``'s transaction; return its row id.

    ``wake`` (the local sender's ``MailSender.wake``) runs after commit so the mail leaves at once
    instead of at the next poll; without it any node's sender takes it within its poll interval.
    """
    check_address(to)
    _check_subject(subject)
    mail_id = uuid.uuid4()
    await session.execute(insert(OUTBOX).values(id=mail_id, recipient=to, subject=subject,
                                                text_body=text, html_body=html))
    log.debug("mail %s queued for a recipient at %s", mail_id, recipient_domain(to))
    if wake is not None:
        notify = wake

        async def wake_after_commit() -> None:
            notify()

        after_commit(session, wake_after_commit)
    return mail_id


@dataclass(frozen=True)
class OutboxStats:
    """Pending mails (neither sent nor given up) and the age of the oldest, in seconds (None when empty)."""

    depth: int
    oldest_age_s: float | None


async def outbox_stats(session: AsyncSession) -> OutboxStats:
    """The outbox's depth and oldest pending age, for metrics and health pages."""
    row = (await session.execute(
        select(func.count(), extract("epoch", func.now() - func.min(OUTBOX.c.created_at)))
        .where(PENDING))).one()
    return OutboxStats(depth=int(row[0]), oldest_age_s=None if row[1] is None else float(row[1]))


async def prune_finished(session: AsyncSession, keep_s: float) -> int:
    """Delete sent and given-up rows finished more than ``keep_s`` seconds ago; return how many."""
    horizon = func.now() - timedelta(seconds=keep_s)
    result = await session.execute(
        delete(OUTBOX).where(or_(OUTBOX.c.sent_at < horizon, OUTBOX.c.failed_at < horizon)))
    return int(getattr(result, "rowcount", 0) or 0)
