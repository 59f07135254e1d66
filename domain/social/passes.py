"""Passing on someone (hidden for 30 days) and taking a pass back (at most once per 7 days)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from domain.discovery.signals import profile_changed
from domain.errors import Conflict, NotFound
from domain.events.log import EventLog
from domain.raw_statements import Fetch
from domain.social import locks, pass_store, person_store, rules
from domain.social.store_common import clock
from domain.wire.replies import Empty, PassReply
from domain.wire.scalars import rfc3339


async def pass_on(fetch: Fetch, passer_id: uuid.UUID, target_id: uuid.UUID) -> PassReply:
    """Hide ``target_id`` from the passer for 30 days (again: the 30 days restart): ``{"expires_at"}``. ``fetch``
    runs the one statement, alone (``ReadSessions.fetch_alone``): it is its own transaction."""
    if target_id == passer_id:
        raise NotFound("no such person")
    # one round trip: the passer's row locked (serialised with the passer's likes), the target read and, when
    # the rules below allow it, the pass written; run alone it is its own transaction
    target, expires_at = await pass_store.pass_if_allowed(fetch, passer_id, target_id, rules.PASS_LASTS)
    if target is None or target.status == "deleted" or target.blocked:
        raise NotFound("no such person")
    if target.liked_by_actor or expires_at is None:
        raise Conflict("you already liked this person; unmatch or block instead")
    return {"expires_at": rfc3339(expires_at)}


async def undo(session: AsyncSession, events: EventLog, passer_id: uuid.UUID, target_id: uuid.UUID) -> Empty:
    """Take back the active pass on ``target_id``; at most once per 7 days (``rate_limited``)."""
    passer = await locks.lock_user_row(session, passer_id)  # serialises undos: the 7-day limit is race-free
    now = await clock(session)
    target = await person_store.target(session, passer_id, target_id, now) if target_id != passer_id else None
    if passer is None or target is None or not target.passed_by_actor:
        raise NotFound("you have no active pass on this person")
    rules.check_pass_undo(passer.last_pass_undo_at, now)
    await pass_store.delete_active_pass(session, passer_id, target_id, now)
    await pass_store.set_last_pass_undo(session, passer_id, now)
    profile_changed(session, events, target_id)  # the person may be shown to the passer again
    return {}
