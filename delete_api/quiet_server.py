"""uvicorn's server with a main loop that wakes once a second instead of ten times.

uvicorn's ``Server.main_loop`` sleeps 0.1 s between ticks so that it notices ``should_exit`` (set by its signal
handler) soon; its work per tick is the ``Date`` header, refreshed once a second. On this VM each of those
wake-ups costs 0.1-0.15 ms of CPU (an ``asyncio.sleep(0.1)`` loop under uvloop: 31 ms of CPU per 20 s, against
4 ms with 1-s sleeps), about 3 % of a loaded node's CPU in ``bench load`` and a third of an idle node's. Here the
loop ticks once a second and ``should_exit``, whoever sets it (the SIGTERM/SIGINT handler, a test harness),
wakes it at once, so a node starts its graceful shutdown no later than under uvicorn's own loop.

``delete-api serve`` with one worker runs this server; ``--workers N`` keeps uvicorn's supervisor and its server.
"""

from __future__ import annotations

import asyncio
import contextlib

import uvicorn

TICK_S = 1.0
TICKS_PER_WAKE = 10  # uvicorn counts ticks of 0.1 s: its ``on_tick`` refreshes the Date header every tenth


class QuietServer(uvicorn.Server):
    """``uvicorn.Server`` whose main loop sleeps a second at a time, woken at once when told to exit."""

    _exit_now: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _should_exit = False

    @property  # uvicorn's is a plain attribute
    def should_exit(self) -> bool:
        return self._should_exit

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        self._should_exit = value
        if value and self._loop is not None and self._exit_now is not None:
            # the signal handler runs between any two bytecodes of the loop's thread: hand the wake-up to the loop
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                self._loop.call_soon_threadsafe(self._exit_now.set)

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._exit_now = exit_now = asyncio.Event()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + TICKS_PER_WAKE) % 864000
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(TICK_S):
                    await exit_now.wait()
            should_exit = await self.on_tick(counter)
