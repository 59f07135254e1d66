"""The typing throttle: at most one ``typing`` event per user and match per interval, across nodes (Redis).

If Redis is unreachable the event is let through: publishing it needs Redis anyway.
"""

from __future__ import annotations

import logging
import uuid

from domain.chat.rules import TYPING_INTERVAL_S
from infra.redis_cluster import REDIS_ERRORS
from infra.redis_commands import Commands

log = logging.getLogger("infra.typing_throttle")


class TypingThrottle:
    """One Redis key per (user, match) that lives for the interval."""

    def __init__(self, commands: Commands, prefix: str, interval_s: float = TYPING_INTERVAL_S) -> None:
        self.commands = commands
        self.prefix = prefix
        self.interval_ms = max(1, round(interval_s * 1000))

    async def admit(self, user_id: uuid.UUID, match_id: uuid.UUID) -> bool:
        """True if this typing event may go out now; False inside the interval of the previous one."""
        key = f"{self.prefix}typing:{user_id}:{match_id}"
        try:
            return bool(await self.commands.call("SET", key, b"1", "PX", self.interval_ms, "NX"))
        except REDIS_ERRORS as exc:
            log.warning("typing throttle unavailable (%s); letting the event through", type(exc).__name__)
            return True
