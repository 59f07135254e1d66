"""The outbox's claim protocol: the SQL that hands a row to exactly one node at a time.

A node claims due rows in one short transaction: ``SELECT ... FOR UPDATE SKIP LOCKED`` picks rows no other
claim is touching, and the same statement stamps them with the node's batch token (``claim``) and moves
``due_at`` to the end of a lease, so no node sees them as due until the lease ends. Every outcome is written
only ``WHERE claim = <token>``: a node whose lease ran out (and whose rows another node took) cannot
overwrite the newer claim. Times are the database's (``now()``), so the nodes' clocks do not matter.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, Interval, bindparam, case, false, func, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.mail.outbox import OUTBOX, PENDING
from domain.models.mail import MAX_ERROR_CHARS
from domain.raw_statements import Fetch, RawStatement, Row


@dataclass(frozen=True)
class ClaimedMail:
    """A row this node may send until its lease ends; ``attempts`` counts this attempt."""

    id: uuid.UUID
    recipient: str
    subject: str
    text_body: str | None
    html_body: str | None
    created_at: datetime
    attempts: int


@dataclass(frozen=True)
class Failure:
    """What became of a failed attempt: given up (``failed``) or due again at ``due_at``."""

    failed: bool
    due_at: datetime


_DUE = (select(OUTBOX.c.id).where(PENDING, OUTBOX.c.due_at <= func.now())
        .order_by(OUTBOX.c.due_at).limit(bindparam("limit", type_=Integer)).with_for_update(skip_locked=True))
# one statement: in a transaction of its own (autocommit) it claims as atomically as in a unit of work
CLAIM_DUE = RawStatement.of(
    update(OUTBOX).where(OUTBOX.c.id.in_(_DUE.scalar_subquery()))
    .values(claim=bindparam("claim"), attempts=OUTBOX.c.attempts + 1,
            due_at=func.now() + bindparam("lease", type_=Interval))
    .returning(OUTBOX.c.id, OUTBOX.c.recipient, OUTBOX.c.subject, OUTBOX.c.text_body, OUTBOX.c.html_body,
               OUTBOX.c.created_at, OUTBOX.c.attempts))


async def claim_due(session: AsyncSession, claim: uuid.UUID, limit: int, lease_s: float) -> list[ClaimedMail]:
    """Claim up to ``limit`` due rows for ``lease_s`` seconds under the token ``claim``, oldest due first."""
    return _claimed(await CLAIM_DUE.fetch(session, _claim_params(claim, limit, lease_s)))


async def claim_due_alone(fetch: Fetch, claim: uuid.UUID, limit: int, lease_s: float) -> list[ClaimedMail]:
    """``claim_due`` as a statement of its own, run by ``fetch`` (a kept autocommit connection: no checkout, no
    BEGIN, no COMMIT, no session; the node's poll every second cost all four)."""
    return _claimed(await fetch(CLAIM_DUE, _claim_params(claim, limit, lease_s)))


def _claim_params(claim: uuid.UUID, limit: int, lease_s: float) -> dict[str, Any]:
    return {"claim": claim, "limit": limit, "lease": timedelta(seconds=lease_s)}


def _claimed(rows: Sequence[Row]) -> list[ClaimedMail]:
    return [ClaimedMail(id=r.id, recipient=r.recipient, subject=r.subject, text_body=r.text_body,
                        html_body=r.html_body, created_at=r.created_at, attempts=r.attempts)
            for r in sorted(rows, key=lambda row: row.created_at)]


async def mark_sent(session: AsyncSession, mail_id: uuid.UUID, claim: uuid.UUID) -> bool:
    """Record the transport's acceptance and erase the bodies; False if the claim was lost meanwhile."""
    result = await session.execute(
        update(OUTBOX).where(OUTBOX.c.id == mail_id, OUTBOX.c.claim == claim)
        .values(sent_at=func.now(), claim=None, text_body=None, html_body=None, last_error=None)
        .returning(OUTBOX.c.id))
    return result.first() is not None


async def mark_failed(session: AsyncSession, mail_id: uuid.UUID, claim: uuid.UUID, reason: str, *,
                      retry_in_s: float, give_up_s: float, permanent: bool) -> Failure | None:
    """Record a failed attempt: due again after ``retry_in_s`` (never later than ``give_up_s`` after the mail
    was written), or given up when it is ``permanent`` or the ``give_up_s`` window has passed. None if the
    claim was lost meanwhile."""
    give_up_at = OUTBOX.c.created_at + timedelta(seconds=give_up_s)
    exhausted = or_(true() if permanent else false(), func.now() >= give_up_at)
    result = await session.execute(
        update(OUTBOX).where(OUTBOX.c.id == mail_id, OUTBOX.c.claim == claim)
        .values(claim=None, last_error=reason[:MAX_ERROR_CHARS],
                failed_at=case((exhausted, func.now()), else_=None),
                due_at=func.least(func.now() + timedelta(seconds=retry_in_s), give_up_at),
                text_body=case((exhausted, None), else_=OUTBOX.c.text_body),
                html_body=case((exhausted, None), else_=OUTBOX.c.html_body))
        .returning(OUTBOX.c.failed_at, OUTBOX.c.due_at))
    row = result.first()
    return None if row is None else Failure(failed=row.failed_at is not None, due_at=row.due_at)


async def release(session: AsyncSession, mail_ids: Sequence[uuid.UUID], claim: uuid.UUID) -> None:
    """Hand back claimed rows this node will not try (shutting down, lease too short): due now, attempt
    not counted."""
    await session.execute(
        update(OUTBOX).where(OUTBOX.c.id.in_(mail_ids), OUTBOX.c.claim == claim)
        .values(claim=None, due_at=func.now(), attempts=OUTBOX.c.attempts - 1))
