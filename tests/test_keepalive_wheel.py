"""delete_api/keepalive_wheel.py: every socket's keepalive on one timer per node. A socket is looked at when it
asked to be, up to one step early and never later than the timer's lateness; it leaves when it says so; the
wheel stops ticking when no socket is left on it (an idle node with no sockets does not wake for keepalives).
The sockets' side (ping a quiet peer, drop one that does not answer, within CONTRACT section 2's bound) is
tested on a live server in tests/realtime/test_keepalive.py."""

from __future__ import annotations

import asyncio
import gc
import random
import weakref

from delete_api.keepalive_wheel import KeepaliveWheel, wheel_for


class _Socket:
    """Asks to be looked at ``every`` seconds, ``times`` times; records when it was looked at."""

    def __init__(self, wanted: float, every: float, times: int) -> None:
        self.wanted, self.every, self.left = wanted, every, times
        self.looks: list[tuple[float, float]] = []  # (wanted, looked at)

    def keepalive_check(self, now: float, step: float) -> float | None:
        self.looks.append((self.wanted, now))
        self.left -= 1
        if self.left == 0:
            return None
        self.wanted = now + self.every
        return self.wanted


async def test_each_socket_is_looked_at_within_a_step_before_it_asked_and_never_much_after() -> None:
    loop = asyncio.get_running_loop()
    wheel = KeepaliveWheel(loop, 0.05)
    sockets = []
    for _ in range(200):
        sock = _Socket(loop.time() + random.uniform(0.0, 0.4), random.uniform(0.1, 0.3), 3)
        wheel.add(sock, sock.wanted)
        sockets.append(sock)
    await asyncio.sleep(1.5)
    looks = [look for sock in sockets for look in sock.looks]
    assert len(looks) == 600 and all(sock.left == 0 for sock in sockets)
    early = [wanted - at for wanted, at in looks]
    assert max(early) <= 0.05 + 0.011, max(early)  # at most a step (and the clock's tick) early
    assert min(early) >= -0.05, min(early)  # and no later than the timer's lateness on a busy machine
    assert wheel.timer is None and not wheel.slots  # every socket left: nothing ticks any more


async def test_a_socket_added_to_an_idle_wheel_starts_it_again() -> None:
    loop = asyncio.get_running_loop()
    wheel = KeepaliveWheel(loop, 0.02)
    first = _Socket(loop.time() + 0.05, 0.0, 1)
    wheel.add(first, first.wanted)
    await asyncio.sleep(0.2)
    assert wheel.timer is None and len(first.looks) == 1
    second = _Socket(loop.time() + 0.05, 0.0, 1)
    wheel.add(second, second.wanted)
    assert wheel.timer is not None
    await asyncio.sleep(0.2)
    assert len(second.looks) == 1 and wheel.timer is None


async def test_servers_with_other_heartbeats_in_one_process_get_their_own_step() -> None:
    loop = asyncio.get_running_loop()
    assert wheel_for(loop, 25, 25).step == 1.0  # production: a look per second at most, whatever the sockets
    assert wheel_for(loop, 1, 1).step == 0.1  # a tenth of the interval: a quiet peer pinged every 0.9-1 s
    assert wheel_for(loop, 1, 1) is wheel_for(loop, 1, 1)
    assert wheel_for(loop, 25, 25) is not wheel_for(loop, 1, 1)


async def test_a_socket_taken_off_is_never_looked_at_and_an_emptied_wheel_stops() -> None:
    """A closed socket leaves the wheel at once (the wheel must not keep its objects alive until its next look)."""
    loop = asyncio.get_running_loop()
    wheel = KeepaliveWheel(loop, 0.02)
    sockets = [_Socket(loop.time() + 0.1, 0.1, 5) for _ in range(50)]
    for sock in sockets:
        wheel.add(sock, sock.wanted)
    for sock in sockets:
        wheel.remove(sock)
    assert wheel.timer is None and not wheel.slots and not wheel.slot_of
    await asyncio.sleep(0.2)
    assert all(not sock.looks for sock in sockets)


class _Closer(_Socket):
    """When looked at, closes another socket (as a look that drops a peer may lead to another leaving)."""

    def __init__(self, wheel: KeepaliveWheel, other: _Socket, wanted: float) -> None:
        super().__init__(wanted, 0.05, 2)
        self.wheel, self.other = wheel, other

    def keepalive_check(self, now: float, step: float) -> float | None:
        self.wheel.remove(self.other)
        return super().keepalive_check(now, step)


async def test_sockets_leaving_during_a_look_leave_one_timer_running() -> None:
    loop = asyncio.get_running_loop()
    wheel = KeepaliveWheel(loop, 0.02)
    other = _Socket(loop.time() + 0.5, 0.1, 5)
    wheel.add(other, other.wanted)
    closer = _Closer(wheel, other, loop.time() + 0.05)
    wheel.add(closer, closer.wanted)
    await asyncio.sleep(0.07)  # the closer's first look has removed the other socket and re-added itself
    assert len(closer.looks) == 1 and other not in wheel.slot_of and wheel.timer is not None
    await asyncio.sleep(0.2)
    assert len(closer.looks) == 2 and not other.looks
    assert wheel.timer is None and not wheel.slots  # one timer chain, ended with the last member


def test_a_wheel_does_not_keep_its_loop_alive() -> None:
    """The process's wheels are held by their loop, weakly: a loop that is done with (a test's, a worker's) goes."""
    loop = asyncio.new_event_loop()
    wheel_for(loop, 25, 25)
    gone = weakref.ref(loop)
    loop.close()
    del loop
    gc.collect()
    assert gone() is None
