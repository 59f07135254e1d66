"""Checking user text against the word list: display names, bios, prompt answers, like comments, messages.

``check`` runs before anything is stored: a ``block`` pattern in any field refuses the whole command with
``content_blocked`` (``details.field`` names the first such field, in the order given). ``flag`` hits are
returned; ``file_flags`` then files one automatic report for the command, naming each pattern and field, in
the command's own transaction (so a command refused later files nothing).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import ContentBlocked
from domain.events.log import EventLog
from domain.safety.auto_reports import file_auto_report
from domain.safety.patterns import Hit, WordList

RULE = "word filter"


def check(words: WordList, fields: Mapping[str, str | None]) -> list[Hit]:
    """The ``flag`` hits of ``fields``; ``content_blocked`` for the first field a ``block`` pattern matches."""
    hits: list[Hit] = []
    if not len(words):
        return hits
    for name, value in fields.items():
        if not value:
            continue
        found = words.find(value)
        if found is None:
            continue
        if found.action == "block":
            raise ContentBlocked(name)
        hits.append(Hit(name, found))
    return hits


def needs_screening(words: WordList, fields: Mapping[str, str | None]) -> bool:
    """True if ``check`` has something to say about ``fields``: a ``flag`` to file or a ``block`` to refuse.
    A command that writes in one call (no transaction to file a report in) leaves such text to its
    transactional path."""
    try:
        return bool(check(words, fields))
    except ContentBlocked:
        return True


def describe(hits: Sequence[Hit]) -> str:
    """The report's details: ``word filter: "pattern" in field; ...`` (patterns quoted as JSON strings)."""
    return f"{RULE}: " + "; ".join(f"{json.dumps(h.pattern.pattern, ensure_ascii=False)} in {h.field}" for h in hits)


async def file_flags(session: AsyncSession, events: EventLog, user_id: uuid.UUID, hits: Sequence[Hit]) -> None:
    """One automatic report about ``user_id`` for this command's ``flag`` hits (nothing when there are none)."""
    if hits:
        await file_auto_report(session, events, user_id, describe(hits))


async def screen(session: AsyncSession, events: EventLog, words: WordList, user_id: uuid.UUID,
                 fields: Mapping[str, str | None]) -> None:
    """``check`` and ``file_flags`` in one: for commands whose author is known (everything but signup)."""
    await file_flags(session, events, user_id, check(words, fields))
