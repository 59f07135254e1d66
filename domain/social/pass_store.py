"""Passes: passing (again), taking an active pass back, and when the user last took one back."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import Pass, User
from domain.raw_statements import Fetch
from domain.social import pass_function
from domain.social.person_store import Target


async def pass_if_allowed(fetch: Fetch, passer_id: uuid.UUID, passee_id: uuid.UUID,
                          lasts: timedelta) -> tuple[Target | None, datetime | None]:
    """Pass on the passee for ``lasts`` from the database's clock if they exist, are not deleted, not blocked
    either way and not liked by the passer (again: the time restarts). Returns the passee as the passer relates
    to them (None: no such user) and the pass's expiry (None: nothing was written). The passer's row lock,
    which serialises this with the passer's likes, is taken first, in the same call (``pass_function``): run alone
    (``ReadSessions.fetch_alone``) the whole pass is one round trip and its own transaction."""
    params = {"actor": passer_id, "target": passee_id, "p_lasts": lasts}
    rows = await fetch(pass_function.CALL, params)
    return (None, None) if not rows else (Target(*rows[0][:-1]), rows[0][-1])


async def delete_active_pass(session: AsyncSession, passer_id: uuid.UUID, passee_id: uuid.UUID,
                             now: datetime) -> bool:
    """Remove the passer's active pass on the passee; False if there was none."""
    stmt = (delete(Pass).where(Pass.passer_id == passer_id, Pass.passee_id == passee_id, Pass.expires_at > now)
            .returning(Pass.passee_id))
    return (await session.execute(stmt)).one_or_none() is not None


async def set_last_pass_undo(session: AsyncSession, user_id: uuid.UUID, at: datetime) -> None:
    await session.execute(update(User).where(User.id == user_id).values(last_pass_undo_at=at))
