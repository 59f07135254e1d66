"""Blocks: one row per blocker and blocked person, stamped when it was written."""

from __future__ import annotations

import uuid

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import Block


async def insert_block(session: AsyncSession, blocker_id: uuid.UUID, blocked_id: uuid.UUID) -> None:
    """Block (a second block of the same person changes nothing).

    Stamped with the clock at insert time (after the pair and match locks), as messages are, so a
    message dated after a block really was written after it.
    """
    stmt = insert(Block).values(blocker_id=blocker_id, blocked_id=blocked_id,
                                created_at=func.clock_timestamp()).on_conflict_do_nothing()
    await session.execute(stmt)
