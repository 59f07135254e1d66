"""Reports: storing one for the moderators' queue."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import Report


async def insert_report(session: AsyncSession, reporter_id: uuid.UUID, reported_id: uuid.UUID, reason: str,
                        details: str | None, now: datetime) -> uuid.UUID:
    """Store the report; its id."""
    stmt = (insert(Report).values(id=uuid.uuid4(), reporter_id=reporter_id, reported_id=reported_id, reason=reason,
                                  details=details, created_at=now)
            .returning(Report.id))
    report_id: uuid.UUID = (await session.execute(stmt)).scalar_one()
    return report_id
