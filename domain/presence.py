"""Who should hear about a user's presence: their current match partners."""

from __future__ import annotations

import uuid

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import Match

PRESENCE_STATES = ("active", "dating", "archived")


async def partner_ids(session: AsyncSession, user_id: uuid.UUID) -> list[uuid.UUID]:
    """Users matched with ``user_id`` in a live match (active, dating or archived)."""
    other = case((Match.user_a == user_id, Match.user_b), else_=Match.user_a)
    stmt = select(other).where((Match.user_a == user_id) | (Match.user_b == user_id),
                               Match.state.in_(PRESENCE_STATES))
    return list((await session.execute(stmt)).scalars())
