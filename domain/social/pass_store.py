"""Passes: passing (again), taking an active pass back, and when the user last took one back."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import Interval, bindparam, delete, not_, select, true, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import Pass, User, table
from domain.raw_statements import RawStatement
from domain.social.person_store import CLOCK_NOW, Target, target_columns
from domain.social.store_common import ACTOR, TARGET

_passes = table(Pass)
_EXCLUDED = insert(_passes).excluded  # the row an upsert proposed


# One round trip for a pass (after the passer's row is locked): the clock read, the target as the passer relates
# to it, and the pass upserted only when the target may be passed on (exists, not deleted, no block, not liked);
# the caller raises from the target's facts, which also tell why nothing was written. The row lock must be a
# statement of its own: this statement's snapshot has to be taken once the lock is held, or a like committed
# while it waited would go unseen
_PASS_TARGET = target_columns(CLOCK_NOW.c.now).add_columns(CLOCK_NOW.c.now).join(CLOCK_NOW, true()).cte("target")
_PASS_IF_ALLOWED = (
    insert(_passes)
    .from_select(["passer_id", "passee_id", "created_at", "expires_at"],
                 select(ACTOR, TARGET, _PASS_TARGET.c.now,
                        _PASS_TARGET.c.now + bindparam("p_lasts", type_=Interval))
                 .where(_PASS_TARGET.c.status != "deleted", not_(_PASS_TARGET.c.blocked),
                        not_(_PASS_TARGET.c.liked_by_actor)))
    .on_conflict_do_update(index_elements=[_passes.c.passer_id, _passes.c.passee_id],
                           set_={"created_at": _EXCLUDED.created_at, "expires_at": _EXCLUDED.expires_at})
    .returning(_passes.c.expires_at)
    .cte("passed"))
_PASS_IF_ALLOWED_WITH_TARGET = (
    select(_PASS_TARGET.c.status, _PASS_TARGET.c.suspended_until, _PASS_TARGET.c.blocked,
           _PASS_TARGET.c.passed_by_actor, _PASS_TARGET.c.liked_by_actor, _PASS_IF_ALLOWED.c.expires_at)
    .select_from(_PASS_TARGET.outerjoin(_PASS_IF_ALLOWED, true())))
_PASS_IF_ALLOWED_RAW = RawStatement.of(_PASS_IF_ALLOWED_WITH_TARGET)  # half of all commands (raw_statements.py)


async def pass_if_allowed(session: AsyncSession, passer_id: uuid.UUID, passee_id: uuid.UUID,
                          lasts: timedelta) -> tuple[Target | None, datetime | None]:
    """Pass on the passee for ``lasts`` from the database's clock if they exist, are not deleted, not blocked
    either way and not liked by the passer (again: the time restarts). Returns the passee as the passer relates
    to them (None: no such user) and the pass's expiry (None: nothing was written). The caller holds the
    passer's row lock (``locks.lock_user_row``), which serialises this with the passer's likes."""
    params = {"actor": passer_id, "target": passee_id, "p_lasts": lasts}
    rows = await _PASS_IF_ALLOWED_RAW.fetch(session, params)
    return (None, None) if not rows else (Target(*rows[0][:-1]), rows[0][-1])


async def delete_active_pass(session: AsyncSession, passer_id: uuid.UUID, passee_id: uuid.UUID,
                             now: datetime) -> bool:
    """Remove the passer's active pass on the passee; False if there was none."""
    stmt = (delete(Pass).where(Pass.passer_id == passer_id, Pass.passee_id == passee_id, Pass.expires_at > now)
            .returning(Pass.passee_id))
    return (await session.execute(stmt)).one_or_none() is not None


async def set_last_pass_undo(session: AsyncSession, user_id: uuid.UUID, at: datetime) -> None:
    await session.execute(update(User).where(User.id == user_id).values(last_pass_undo_at=at))
