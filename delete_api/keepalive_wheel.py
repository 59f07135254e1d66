"""One timer per node for every socket's keepalive, instead of one per socket.

uvicorn arms a timer per socket (the next ping, then the pong's deadline). A node holding 1,000 sockets whose
clients ping every 20 s (``websockets``' default) then wakes 50 times a second for a timer that finds the
socket heard from and arms itself again; on this VM a wake-up costs about 55 µs of CPU (1,000 timers on a
20-s period: 52-59 ms of CPU per 20 s under uvloop), about 6 % of a loaded node's CPU in ``bench load``.

The wheel ticks every ``step`` seconds while any socket is on it and keeps each socket in the slot of the tick
at which it must next be looked at: a socket heard from recently is looked at once its quiet spell could have
reached the interval, which for a client pinging every 20 s against a 25-s interval is once per 20 s. Each
member says, when looked at, when it wants to be looked at again (or ``None``: it is closing, and leaves); a
socket that closes is taken off at once, so the wheel keeps no closed socket's objects alive.

A member's wanted time ``t`` lands in the slot ``ceil((t - step) / step)``, so it is looked at within
``[t - step, t]`` (plus the timer's lateness), never after: a ping is due at ``heard + interval`` and a drop at
``ping + timeout``, and checks run up to ``step`` early and act on them, which keeps CONTRACT section 2's bound
(a dead peer dropped within 2 x ``heartbeat_s``) exact.
"""

from __future__ import annotations

import asyncio
import math
import weakref
from typing import Protocol

MAX_STEP_S = 1.0
EARLY_S = 0.01  # a timer may fire this much before its time (the loop's clock has millisecond steps)
STEPS_PER_INTERVAL = 10  # a step is at most a tenth of the interval: a quiet peer is pinged every 0.9-1 x interval


class Member(Protocol):
    def keepalive_check(self, now: float, step: float) -> float | None:
        """Act if due (ping, or drop an unanswered peer); the loop time to be looked at next, or None to leave."""


class KeepaliveWheel:
    """The slots of one loop's sockets sharing one step."""

    def __init__(self, loop: asyncio.AbstractEventLoop, step: float) -> None:
        self._loop = weakref.ref(loop)  # the registry holds wheels by their loop, weakly: never keep the loop alive
        self.step = step
        self.slots: dict[int, set[Member]] = {}
        self.slot_of: dict[Member, int] = {}
        self.done = math.floor(loop.time() / step)  # the last slot looked at
        self.timer: asyncio.TimerHandle | None = None  # armed while any member is on the wheel
        self.ticking = False  # a tick is looking at members (it arms the next timer itself when done)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        loop = self._loop()
        assert loop is not None  # members are added and timers fire only while their loop exists
        return loop

    def add(self, member: Member, at: float) -> None:
        """Look at ``member`` at or up to one step before loop time ``at``."""
        self.remove(member)
        slot = max(self.done + 1, math.ceil((at - self.step) / self.step))
        members = self.slots.get(slot)
        if members is None:
            self.slots[slot] = {member}
        else:
            members.add(member)
        self.slot_of[member] = slot
        if self.timer is None and not self.ticking:
            self.timer = self.loop.call_at((self.done + 1) * self.step, self._tick)

    def remove(self, member: Member) -> None:
        """Take ``member`` off the wheel (its socket closed): nothing keeps it alive here any more."""
        slot = self.slot_of.pop(member, None)
        if slot is None:
            return
        members = self.slots[slot]
        members.discard(member)
        if not members:
            del self.slots[slot]
            if not self.slots and self.timer is not None and not self.ticking:
                self.timer.cancel()
                self.timer = None

    def _tick(self) -> None:
        now = self.loop.time()
        current = math.floor((now + EARLY_S) / self.step)  # a timer may fire a little before its time
        step, slots, slot_of = self.step, self.slots, self.slot_of
        self.ticking = True
        try:
            for slot in range(self.done + 1, current + 1):
                self.done = slot
                for member in slots.pop(slot, ()):
                    del slot_of[member]
                    again = member.keepalive_check(now, step)
                    if again is not None:
                        self.add(member, again)
        finally:
            self.ticking = False
            self.done = current
            self.timer = self.loop.call_at((current + 1) * step, self._tick) if slots else None


_WHEELS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[float, KeepaliveWheel]] = (
    weakref.WeakKeyDictionary())


def wheel_for(loop: asyncio.AbstractEventLoop, interval: float, timeout: float | None) -> KeepaliveWheel:
    """The wheel of ``loop`` for sockets with this ping interval and timeout (servers in one process may differ)."""
    step = min(MAX_STEP_S, interval / STEPS_PER_INTERVAL,
               (timeout if timeout else interval) / STEPS_PER_INTERVAL)
    wheels = _WHEELS.setdefault(loop, {})
    wheel = wheels.get(step)
    if wheel is None:
        wheel = wheels[step] = KeepaliveWheel(loop, step)
    return wheel
