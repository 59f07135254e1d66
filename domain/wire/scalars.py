"""Strings with a format: ids, times and dates (JSON has no such types; the schemas say which is which)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import ConfigDict, WithJsonSchema

CLOSED = ConfigDict(extra="forbid")
"""The configuration of every wire object: exactly the documented keys."""

Uuid = Annotated[str, WithJsonSchema({"type": "string", "format": "uuid"})]
Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time",
                                           "description": "RFC 3339, UTC, with a Z"})]
Day = Annotated[str, WithJsonSchema({"type": "string", "format": "date", "description": "YYYY-MM-DD"})]


def rfc3339(moment: datetime) -> str:
    """Format a timestamp as RFC 3339 UTC with a ``Z``."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def rfc3339_or_none(moment: datetime | None) -> str | None:
    """``rfc3339`` of a moment that may be missing."""
    return rfc3339(moment) if moment is not None else None
