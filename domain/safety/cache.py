"""Every node's copy of the word list: loaded from PostgreSQL, swapped whole when the list changes.

A change (``moderation.words.add`` / ``remove``) reloads the copy of the node that made it right after commit
and announces it (``ChangeSignal``: a Redis message in ``infra/word_list_sync.py``) so every other node
reloads at once. As a fallback for a lost message each node also compares a fingerprint of the list in force
(how many patterns, and a sum of hashes of their ids) once a second and reloads when it differs. Checking
text never touches the database: it reads ``WordCache.words``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.errors import ValidationFailed
from domain.raw_statements import Fetch, RawStatement
from domain.safety.patterns import Pattern, WordList, fold_pattern

log = logging.getLogger("domain.safety.cache")

_FINGERPRINT = RawStatement("SELECT count(*), coalesce(sum(hashtext(id::text)::bigint), 0) FROM word_patterns "
                            "WHERE removed_at IS NULL")
_PATTERNS = text("SELECT id, pattern, action FROM word_patterns WHERE removed_at IS NULL ORDER BY created_at, id")


class ChangeSignal(Protocol):
    """Tells every other node that the word list changed."""

    async def announce(self) -> None: ...


class WordCache:
    """The compiled word list of this node."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], fetch: Fetch) -> None:
        self.sessions = sessions
        self.fetch = fetch  # the fingerprint, once a second on every node: one statement alone on a kept connection
        self.words = WordList()
        self.signal: ChangeSignal | None = None  # set by the composition root
        self._fingerprint: tuple[int, int] | None = None
        self._lock = asyncio.Lock()

    async def refresh(self, *, force: bool = False) -> bool:
        """Reload if the list in force differs from this copy (or ``force``); True if it was reloaded."""
        async with self._lock:
            [row] = await self.fetch(_FINGERPRINT, {})
            fingerprint = (int(row[0]), int(row[1]))
            if not force and fingerprint == self._fingerprint:
                return False
            async with self.sessions() as session:
                rows = (await session.execute(_PATTERNS)).all()
        self.words = compile_list(Pattern(r[0], r[1], r[2]) for r in rows)
        self._fingerprint = fingerprint
        return True

    async def changed(self) -> None:
        """After a committed change: reload here, then tell the other nodes."""
        await self.refresh(force=True)
        if self.signal is not None:
            await self.signal.announce()


def compile_list(patterns: Iterable[Pattern]) -> WordList:
    """A word list of the stored patterns; one the current rules cannot read is skipped (logged)."""
    usable: list[Pattern] = []
    for pattern in patterns:
        try:
            fold_pattern(pattern.pattern)
        except ValidationFailed:
            log.warning("word pattern %s cannot be compiled; skipped", pattern.id)
            continue
        usable.append(pattern)
    return WordList(usable)
