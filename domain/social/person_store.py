"""The other person as the acting user relates to them: status, blocks, passes and likes between the two."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import Like, User, table
from domain.raw_statements import RawStatement
from domain.social.store_common import ACTOR, NOW, TARGET, USER, active_pass, blocked_between

_user, _like = table(User).c, table(Like).c


@dataclass(frozen=True, slots=True)
class Target:
    """What the like and pass checks need to know about the other person."""

    status: str
    suspended_until: datetime | None
    blocked: bool  # either way
    passed_by_actor: bool  # the actor's pass on the target is active
    liked_by_actor: bool


# the database's clock, read once per statement (volatile: evaluated once, not inlined)
CLOCK_NOW = select(func.clock_timestamp().label("now")).cte("now")


def target_columns(now: ColumnElement[datetime]) -> Select[Any]:
    """The target (``:target``) as the actor (``:actor``) relates to it, with passes judged at ``now``: ``Target``'s
    fields, labelled by their names."""
    return select(_user.status.label("status"), _user.suspended_until.label("suspended_until"),
                  blocked_between(ACTOR, _user.id).label("blocked"),
                  active_pass(ACTOR, _user.id, now).label("passed_by_actor"),
                  exists().where(_like.liker_id == ACTOR, _like.likee_id == _user.id).label("liked_by_actor"),
                  ).where(_user.id == TARGET)


_TARGET_AT = RawStatement.of(target_columns(NOW))  # every like and pass undo


async def target(session: AsyncSession, actor_id: uuid.UUID, target_id: uuid.UUID, now: datetime) -> Target | None:
    """The target as the actor relates to it, in one round trip; None if no such user."""
    rows = await _TARGET_AT.fetch(session, {"actor": actor_id, "target": target_id, "now": now})
    return Target(*rows[0]) if rows else None


_USER_STATUS = select(_user.status).where(_user.id == USER)


async def user_status(session: AsyncSession, user_id: uuid.UUID) -> str | None:
    return (await session.execute(_USER_STATUS, {"user": user_id})).scalar_one_or_none()
