"""Blocking: permanent, both ways, and the end of any open match between the two."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import NotFound
from domain.events.log import EventLog
from domain.social import block_store, locks, person_store
from domain.social.matches import end_for_block
from domain.social.notify import EventBatch
from domain.social.store_common import clock
from domain.wire.replies import Empty


async def block(session: AsyncSession, events: EventLog, blocker_id: uuid.UUID, target_id: uuid.UUID) -> Empty:
    """Block ``target_id`` (again: nothing changes): ``{}``."""
    await block_in(session, events, blocker_id, target_id, await clock(session))
    return {}


async def block_in(session: AsyncSession, events: EventLog, blocker_id: uuid.UUID, target_id: uuid.UUID,
                   now: datetime) -> None:
    """Store the block and end the pair's match, inside the caller's transaction (reports block too)."""
    status = await person_store.user_status(session, target_id) if target_id != blocker_id else None
    if status is None or status == "deleted":
        raise NotFound("no such person")
    # the pair lock orders this block against a like of the pair: a like that has not seen the block
    # commits its match first, and the match is ended here
    await locks.lock_pair(session, blocker_id, target_id)
    await block_store.insert_block(session, blocker_id, target_id)
    batch = EventBatch(events)
    await end_for_block(session, batch, blocker_id, target_id, now)
    await batch.flush(session)
