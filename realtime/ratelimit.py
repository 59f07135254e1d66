"""Per-socket command rate limit (pure: the caller passes the clock).

A token bucket admits ``rate`` commands per second with bursts of ``burst``.
A refused command costs a strike; ``max_strikes`` strikes within
``strike_window_s`` means sustained abuse and the socket is closed (4429).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass
class CommandLimiter:
    rate: float = 20.0
    burst: float = 40.0
    max_strikes: int = 100
    strike_window_s: float = 10.0
    _tokens: float = field(init=False)
    _updated: float = field(init=False, default=0.0)
    _strikes: deque[float] = field(init=False, default_factory=deque)

    def __post_init__(self) -> None:
        self._tokens = self.burst

    def admit(self, now: float) -> float:
        """Return 0 if the command may run, else the seconds until it could."""
        if self._updated:
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        self._strikes.append(now)
        while self._strikes and self._strikes[0] < now - self.strike_window_s:
            self._strikes.popleft()
        return (1.0 - self._tokens) / self.rate

    def abusive(self) -> bool:
        """True once refusals have been sustained past the limit."""
        return len(self._strikes) >= self.max_strikes
