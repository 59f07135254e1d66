"""Who should hear about a user's presence: their current match partners."""

from __future__ import annotations

import uuid

from sqlalchemy import Uuid, bindparam, case, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import Match, table

PRESENCE_STATES = ("active", "dating", "archived")

_USER = bindparam("user", type_=Uuid)
_match = table(Match).c
# built once, on the table: it runs on every connect and disconnect (domain/social/store_common.py says why)
_PARTNERS = select(case((_match.user_a == _USER, _match.user_b), else_=_match.user_a)).where(
    (_match.user_a == _USER) | (_match.user_b == _USER), _match.state.in_(PRESENCE_STATES))


async def partner_ids(session: AsyncSession, user_id: uuid.UUID) -> list[uuid.UUID]:
    """Users matched with ``user_id`` in a live match (active, dating or archived)."""
    return list((await session.execute(_PARTNERS, {"user": user_id})).scalars())
