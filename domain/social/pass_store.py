"""Passes: passing (again), taking an active pass back, and when the user last took one back."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, bindparam, delete, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import Pass, User, table
from domain.social.store_common import ACTOR, NOW, TARGET

_passes = table(Pass)
_NEW_PASS = insert(_passes).values(passer_id=ACTOR, passee_id=TARGET, created_at=NOW,
                                   expires_at=bindparam("p_expires_at", type_=DateTime(timezone=True)))
_UPSERT_PASS = (_NEW_PASS.on_conflict_do_update(index_elements=[_passes.c.passer_id, _passes.c.passee_id],
                                                set_={"created_at": _NEW_PASS.excluded.created_at,
                                                      "expires_at": _NEW_PASS.excluded.expires_at})
                .returning(_passes.c.expires_at))


async def upsert_pass(session: AsyncSession, passer_id: uuid.UUID, passee_id: uuid.UUID, now: datetime,
                      expires_at: datetime) -> datetime:
    """Pass (again): the pass runs to ``expires_at`` from now on."""
    params = {"actor": passer_id, "target": passee_id, "now": now, "p_expires_at": expires_at}
    expires: datetime = (await session.execute(_UPSERT_PASS, params)).scalar_one()
    return expires


async def delete_active_pass(session: AsyncSession, passer_id: uuid.UUID, passee_id: uuid.UUID,
                             now: datetime) -> bool:
    """Remove the passer's active pass on the passee; False if there was none."""
    stmt = (delete(Pass).where(Pass.passer_id == passer_id, Pass.passee_id == passee_id, Pass.expires_at > now)
            .returning(Pass.passee_id))
    return (await session.execute(stmt)).one_or_none() is not None


async def set_last_pass_undo(session: AsyncSession, user_id: uuid.UUID, at: datetime) -> None:
    await session.execute(update(User).where(User.id == user_id).values(last_pass_undo_at=at))
