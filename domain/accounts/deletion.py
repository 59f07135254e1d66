"""Deleting one's account: matches end, logins stop, the profile is erased and every socket closes.

What is erased and what is kept is listed in docs/social.md ("Account deletion").
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from domain.accounts import repository as repo
from domain.auth.repository import revoke_all_families
from domain.errors import Unauthorized
from domain.events.log import EventLog
from domain.photos.storage import MediaStorage
from domain.social.locks import lock_user_exclusive, lock_user_row
from domain.social.matches import end_for_deletion
from domain.social.notify import EventBatch
from domain.social.store_common import clock
from domain.transaction import after_commit
from domain.wire.replies import Empty

CLOSE_NORMAL = 1000  # clients do not reconnect after a normal close
CLOSE_REASON = "account deleted"


async def delete_account(session: AsyncSession, events: EventLog, storage: MediaStorage,
                         user_id: uuid.UUID) -> Empty:
    """Delete the caller's account: ``{}``; every socket of theirs on every node closes with 1000 after commit."""
    user = await lock_user_row(session, user_id)  # serialised with the user's own likes and passes
    if user is None or user.status == "deleted":
        raise Unauthorized("this account was deleted")
    await lock_user_exclusive(session, user_id)  # likes aimed at the user finish first
    now = await clock(session)

    batch = EventBatch(events)
    await end_for_deletion(session, batch, user_id, now)
    await batch.flush(session)

    await revoke_all_families(session, user_id, "account_deleted")
    keys = await repo.remove_photos(session, user_id)
    await repo.remove_profile_content(session, user_id)
    await repo.scrub_account(session, user_id, date(user.birthdate.year, 1, 1), now)

    async def remove_files() -> None:
        for key in keys:
            await storage.delete(key)

    after_commit(session, remove_files)
    events.control_after_commit(session, user_id, "close", code=CLOSE_NORMAL, reason=CLOSE_REASON)
    return {}
