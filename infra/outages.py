"""Telling a dependency outage (PostgreSQL or Redis away) from a bug."""

from __future__ import annotations

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

UNAVAILABLE = (OSError, TimeoutError, RedisConnectionError, RedisTimeoutError, OperationalError, InterfaceError)


def is_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` means a dependency is away (answer 503 / "try again later"), not a bug."""
    if isinstance(exc, UNAVAILABLE):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)
