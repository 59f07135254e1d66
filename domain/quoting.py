"""Quoting client input in error messages and details: at most ``QUOTE_LIMIT`` characters of it.

An error names what it refuses (an unknown command type, an unknown field, an id that was not found), but a
client decides how long that is: echoing it whole turned a 10 KB command type into a 10 KB reply. Every
error that puts something the client sent into its message or details passes it through ``quote``.
"""

from __future__ import annotations

from collections.abc import Mapping

QUOTE_LIMIT = 64
CUT = "…"
MAX_LISTED = 20  # offending fields named in one validation error; a frame of 5,000 unknown keys names 20


def quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    """``value`` as text (``str()`` for anything but a string), cut to ``limit`` characters plus "…" if longer."""
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[:limit] + CUT


def listed(fields: Mapping[str, str], most: int = MAX_LISTED) -> dict[str, str]:
    """The first ``most`` of ``fields``; the rest counted under the key "…" (so a reply never outgrows its frame)."""
    if len(fields) <= most:
        return dict(fields)
    kept = dict(list(fields.items())[:most])
    kept[CUT] = f"and {len(fields) - most} more"
    return kept
