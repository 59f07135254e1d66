"""How a server process runs Python's cyclic garbage collector.

A full collection stops the event loop while it walks every tracked object, and with 1,000 sockets a node
tracks ~127,000 of them (about 120 per socket: uvicorn's and websockets' protocol objects, the upgrade
request, the coroutine chain of the ASGI app). On the 2-core test machine one takes 80-200 ms, and with CPython's
default thresholds (700, 10, 10) they came every 30-50 s per node under the mixed load, because young
collections promote whatever the commands in flight hold at that moment. Those pauses were the largest
single cause of the slowest 1 % of deliveries (``docs/load.md``).

The policy, for a process that serves one app and nothing else (tests start many apps in one process):

- everything that exists once the node has started (~120,000 objects: modules, SQLAlchemy and pydantic
  structures, pools) is frozen: no collection walks it again;
- young collections wait for 10,000 net allocations instead of 700, so most objects of commands in flight
  die by reference counting before a collection can promote them (50,000 was tried: each young
  collection then walked so much that it paused the loop for ~100 ms);
- a full collection runs on a fixed schedule (every 120 s). The cycles left by closed sockets are only
  freed by a full collection, so the schedule bounds the garbage a node carries to what closes in two
  minutes, with one pause per two minutes instead of two to four.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time

log = logging.getLogger("delete_api.collector")

YOUNG_THRESHOLD = 10_000
FULL_EVERY_S = 120.0
SLOW_FULL_MS = 250.0


class Collector:
    """Start with ``start()`` once the app has started, stop with ``await stop()``; restores the defaults."""

    def __init__(self, young_threshold: int = YOUNG_THRESHOLD, full_every_s: float = FULL_EVERY_S) -> None:
        self.young_threshold = young_threshold
        self.full_every_s = full_every_s
        self.full_collections = 0
        self._saved: tuple[int, int, int] | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        gc.collect()
        gc.freeze()
        self._saved = gc.get_threshold()
        gc.set_threshold(self.young_threshold, self._saved[1], self._saved[2])
        self._task = asyncio.get_running_loop().create_task(self._full_on_schedule(), name="gc-full-collections")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None
        gc.unfreeze()

    def collect_now(self) -> int:
        """One full collection; returns how many unreachable objects it found."""
        started = time.perf_counter()
        found = gc.collect()
        took_ms = (time.perf_counter() - started) * 1000
        self.full_collections += 1
        (log.warning if took_ms > SLOW_FULL_MS else log.debug)(
            "full garbage collection: %d unreachable objects in %.0f ms", found, took_ms)
        return found

    async def _full_on_schedule(self) -> None:
        while True:
            await asyncio.sleep(self.full_every_s)
            self.collect_now()
