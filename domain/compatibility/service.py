"""Compatibility between the caller and another user, from both quizzes (CONTRACT section 3)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from domain.compatibility import scoring
from domain.errors import ValidationFailed
from domain.profiles.service import quiz_answers, require_visible
from domain.wire.replies import CompatibilityReply


async def compatibility(session: AsyncSession, viewer_id: uuid.UUID, target_id: uuid.UUID) -> CompatibilityReply:
    """``{"score","summary","traits","highlights"}``; an unsubmitted quiz counts as 3 on every trait."""
    if target_id == viewer_id:
        raise ValidationFailed.field("user_id", "that is you; compatibility compares you with someone else")
    await require_visible(session, viewer_id, target_id)
    mine = await quiz_answers(session, viewer_id)
    theirs = await quiz_answers(session, target_id)
    return scoring.compare(mine, theirs).as_dict()
