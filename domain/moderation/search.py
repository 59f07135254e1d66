"""``moderation.search``: find accounts by exact id, email prefix or display-name prefix (at most 20).

A query that is a UUID finds that account only. Otherwise the email prefix is looked up first (by email
order), then, unless the query contains ``@``, the display-name prefix (by name, then id); the lists are
joined without repeats and cut at 20. Both prefixes are case-insensitive: ``lower(col) LIKE 'prefix%'``
(``%``, ``_`` and ``\\`` in the query are literal) inside a ``~>=~`` / ``~<~`` range of the
``text_pattern_ops`` indexes ``ix_users_email_prefix`` and ``ix_users_name_prefix`` (migration 0011), read
in index order: each lookup reads at most 20 entries of its index, whatever the number of accounts.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import ValidationFailed
from domain.moderation.access import require_moderator
from domain.moderation.rules import current_status
from domain.wire.moderation import FoundUser, SearchReply
from domain.wire.scalars import rfc3339

LIMIT = 20
MAX_QUERY_CHARS = 254  # the longest email address
HIGHEST = "\U0010ffff"  # the largest code point: its UTF-8 bytes sort after any other character's

# The three lookups share their columns; each reads at most LIMIT rows of its index. lower() runs in
# PostgreSQL on both sides, so the query is folded exactly as the indexed column is.
_BY_ID = """
SELECT u.id, u.email::text AS email, u.display_name, u.status, u.suspended_until, u.role, u.created_at,
       (SELECT count(*) FROM reports r WHERE r.reported_id = u.id) AS reports_received
FROM users u WHERE u.id = :id
"""
_BY_EMAIL = """
SELECT u.id, u.email::text AS email, u.display_name, u.status, u.suspended_until, u.role, u.created_at,
       (SELECT count(*) FROM reports r WHERE r.reported_id = u.id) AS reports_received
FROM users u
WHERE lower(u.email::text) ~>=~ lower(CAST(:prefix AS text))
  AND lower(u.email::text) ~<~ (lower(CAST(:prefix AS text)) || CAST(:highest AS text))
  AND lower(u.email::text) LIKE lower(CAST(:pattern AS text)) ESCAPE '\\'
ORDER BY lower(u.email::text) USING ~<~
LIMIT :limit
"""
_BY_NAME = """
SELECT u.id, u.email::text AS email, u.display_name, u.status, u.suspended_until, u.role, u.created_at,
       (SELECT count(*) FROM reports r WHERE r.reported_id = u.id) AS reports_received
FROM users u
WHERE lower(u.display_name) ~>=~ lower(CAST(:prefix AS text))
  AND lower(u.display_name) ~<~ (lower(CAST(:prefix AS text)) || CAST(:highest AS text))
  AND lower(u.display_name) LIKE lower(CAST(:pattern AS text)) ESCAPE '\\'
ORDER BY lower(u.display_name) USING ~<~, u.id
LIMIT :limit
"""


def check_query(query: str) -> str:
    """The query, trimmed; 1 to ``MAX_QUERY_CHARS`` characters."""
    text_ = query.strip()
    if not text_:
        raise ValidationFailed.field("query", "must not be empty: an email prefix, a display name or a user id")
    if len(text_) > MAX_QUERY_CHARS:
        raise ValidationFailed.field("query", f"must be at most {MAX_QUERY_CHARS} characters")
    return text_


def as_user_id(query: str) -> uuid.UUID | None:
    """The query as a user id, if it is one (the canonical hyphenated form, any case)."""
    if len(query) != 36:
        return None
    try:
        return uuid.UUID(query)
    except ValueError:
        return None


def prefix_params(query: str) -> dict[str, str]:
    """The prefix as bounds of an index range (``prefix ~<=~ value ~<~ prefix || highest``, character order,
    which keeps the plan on the index even when the statement is prepared generically) and as an exact
    LIKE pattern, with ``%``, ``_`` and ``\\`` taken literally."""
    pattern = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return {"prefix": query, "highest": HIGHEST, "pattern": pattern}


def found_user(row: Any, now: datetime) -> FoundUser:
    return {
        "id": str(row.id),
        "email": row.email,
        "display_name": row.display_name,
        "status": current_status(row.status, row.suspended_until, now),
        "role": row.role,
        "created_at": rfc3339(row.created_at),
        "reports_received": int(row.reports_received),
    }


async def _rows(session: AsyncSession, sql: str, **params: Any) -> Sequence[Any]:
    return (await session.execute(text(sql), params)).all()


async def find(session: AsyncSession, query: str) -> list[Any]:
    """The matching user rows, in the order described above, at most ``LIMIT``."""
    user_id = as_user_id(query)
    if user_id is not None:
        return list(await _rows(session, _BY_ID, id=user_id))
    bounds = prefix_params(query)
    rows = list(await _rows(session, _BY_EMAIL, limit=LIMIT, **bounds))
    if "@" not in query and len(rows) < LIMIT:
        seen = {r.id for r in rows}
        rows += [r for r in await _rows(session, _BY_NAME, limit=LIMIT, **bounds) if r.id not in seen]
    return rows[:LIMIT]


async def search(session: AsyncSession, moderator_id: uuid.UUID, query: str,
                 read: AsyncSession | None = None) -> SearchReply:
    """``moderation.search``: accounts matching ``query`` (see the module docstring), found on ``read`` (the
    read replica, if any: a lagging list) while the moderator's role is checked on the primary ``session``."""
    await require_moderator(session, moderator_id)
    rows = await find(read or session, check_query(query))
    now = datetime.now(UTC)
    return {"users": [found_user(r, now) for r in rows]}
