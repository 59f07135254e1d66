"""Who may moderate: the role and status are read again from the database on every command."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import Forbidden
from domain.moderation import repository as repo
from domain.moderation.rules import current_status


async def require_moderator(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Refuse (``forbidden``) unless the account is, right now, an active moderator."""
    account = await repo.account(session, user_id)
    if account is None:
        raise Forbidden("this needs the moderator role")
    role, status, until = account
    if role != "moderator" or current_status(status, until, datetime.now(UTC)) != "active":
        raise Forbidden("this needs the moderator role")
