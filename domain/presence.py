"""Who should hear about a user's presence: their current match partners."""

from __future__ import annotations

import uuid

from sqlalchemy import Uuid, bindparam, case, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import Match

PRESENCE_STATES = ("active", "dating", "archived")

_USER = bindparam("user", type_=Uuid)
# built once: it runs on every connect and disconnect (see domain/social/repository.py on why)
_PARTNERS = select(case((Match.user_a == _USER, Match.user_b), else_=Match.user_a)).where(
    (Match.user_a == _USER) | (Match.user_b == _USER), Match.state.in_(PRESENCE_STATES))


async def partner_ids(session: AsyncSession, user_id: uuid.UUID) -> list[uuid.UUID]:
    """Users matched with ``user_id`` in a live match (active, dating or archived)."""
    return list((await session.execute(_PARTNERS, {"user": user_id})).scalars())
