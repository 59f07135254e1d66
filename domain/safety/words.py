"""The moderators' word list commands: list, add, remove (CONTRACT section 2 "safety"; docs/safety.md).

Each command reads the moderator role again from the database. A pattern in force is unique by its folded
form (adding "B.A.D" while "bad" is in force is ``conflict`` naming the existing one). Removing keeps the row
(``removed_at``, ``removed_by``): the list's history is its audit trail. After commit the node reloads its
copy and tells the others (``WordCache.changed``).
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import Conflict, NotFound
from domain.models import WordPattern
from domain.moderation.access import require_moderator
from domain.safety.cache import WordCache
from domain.safety.patterns import fold_pattern
from domain.transaction import after_commit
from domain.wire.enums import WordAction
from domain.wire.replies import Empty
from domain.wire.safety import FilterWord, WordReply, WordsReply
from domain.wire.scalars import rfc3339

_LIVE = WordPattern.removed_at.is_(None)


def word_view(word: WordPattern) -> FilterWord:
    return {"id": str(word.id), "pattern": word.pattern, "action": word.action,
            "created_at": rfc3339(word.created_at),
            "created_by": str(word.created_by) if word.created_by else None}


async def list_words(session: AsyncSession, moderator_id: uuid.UUID) -> WordsReply:
    """``{"words": [...]}``: every pattern in force, oldest first."""
    await require_moderator(session, moderator_id)
    rows = await session.execute(select(WordPattern).where(_LIVE).order_by(WordPattern.created_at, WordPattern.id))
    return {"words": [word_view(w) for w in rows.scalars()]}


async def add_word(session: AsyncSession, cache: WordCache, moderator_id: uuid.UUID, pattern: str,
                   action: WordAction) -> WordReply:
    """Put a pattern in force: ``{"word"}``; ``conflict`` if the same folded pattern already is."""
    await require_moderator(session, moderator_id)
    folded, _, _ = fold_pattern(pattern)
    stmt = (insert(WordPattern)
            .values(id=uuid.uuid4(), pattern=pattern.strip(), folded=folded, action=action, created_by=moderator_id)
            .on_conflict_do_nothing(index_elements=[WordPattern.folded], index_where=_LIVE)
            .returning(WordPattern))
    word = (await session.execute(stmt)).scalar_one_or_none()
    if word is None:
        existing = (await session.execute(select(WordPattern).where(WordPattern.folded == folded, _LIVE))).scalar_one()
        raise Conflict("this pattern is already on the list", {"id": str(existing.id), "action": existing.action})
    after_commit(session, cache.changed)
    return {"word": word_view(word)}


async def remove_word(session: AsyncSession, cache: WordCache, moderator_id: uuid.UUID, word_id: uuid.UUID) -> Empty:
    """Take a pattern out of force (the row stays, marked removed); ``not_found`` if it is not in force."""
    await require_moderator(session, moderator_id)
    stmt = (update(WordPattern).where(WordPattern.id == word_id, _LIVE)
            .values(removed_at=func.now(), removed_by=moderator_id).returning(WordPattern.id))
    if (await session.execute(stmt)).scalar_one_or_none() is None:
        raise NotFound("no such pattern on the list")
    after_commit(session, cache.changed)
    return {}
