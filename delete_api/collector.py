"""How a server process runs Python's cyclic garbage collector.

A full collection stops the event loop while it walks every tracked object it has not been told to
skip, and with 1,000 sockets a node tracks ~128,000 of them (about 120 per socket: uvicorn's and
websockets' protocol objects, the coroutine chain of the ASGI app, the connection's state). On the
2-core test machine a walk of all of them takes 90-180 ms. With CPython's default thresholds
(700, 10, 10) they came every 30-50 s per node under the mixed load, because young collections promote
whatever the commands in flight hold at that moment; those pauses were the largest single cause of the
slowest 1 % of deliveries (``docs/load.md``).

The policy, for a process that serves one app and nothing else (tests start many apps in one process):

- young collections wait for 10,000 net allocations instead of 700, so most objects of commands in flight
  die by reference counting before a collection can promote them (50,000 was tried: each young
  collection then walked so much that it paused the loop for ~100 ms);
- a full collection runs on a fixed schedule (every 120 s), and what survives it is frozen (``gc.freeze``):
  later collections skip it. So a scheduled collection walks only what was made since the one before
  (the sockets opened in those two minutes, caches), not every open socket again. Frozen objects are
  still freed by reference counting when the last reference goes: an ended socket is (the socket code
  leaves no reference cycle; tests/realtime/test_socket_release.py);
- what could still hide from it is a reference cycle among objects that were frozen while alive, so
  every hour (``deep_every_s``) one collection walks everything again (unfrozen first) and logs what it
  found. Everything that exists once the node has started (modules, SQLAlchemy and pydantic
  structures, pools: ~120,000 objects) is frozen from the start.
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
DEEP_EVERY_S = 3600.0
SLOW_FULL_MS = 250.0


class Collector:
    """Start with ``start()`` once the app has started, stop with ``await stop()``; restores the defaults."""

    def __init__(self, young_threshold: int = YOUNG_THRESHOLD, full_every_s: float = FULL_EVERY_S,
                 deep_every_s: float = DEEP_EVERY_S) -> None:
        self.young_threshold = young_threshold
        self.full_every_s = full_every_s
        self.deep_every_s = deep_every_s
        self.full_collections = 0
        self.deep_collections = 0
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

    def collect_now(self, *, deep: bool = False) -> int:
        """One full collection, then freeze what survived; ``deep`` walks the frozen objects too.

        Returns how many unreachable objects it found.
        """
        started = time.perf_counter()
        if deep:
            gc.unfreeze()
        found = gc.collect()
        gc.freeze()
        took_ms = (time.perf_counter() - started) * 1000
        self.full_collections += 1
        self.deep_collections += deep
        level = logging.WARNING if took_ms > SLOW_FULL_MS else logging.INFO if deep else logging.DEBUG
        log.log(level, "%s garbage collection: %d unreachable objects in %.0f ms (%d objects frozen)",
                "deep" if deep else "full", found, took_ms, gc.get_freeze_count())
        return found

    async def _full_on_schedule(self) -> None:
        loop = asyncio.get_running_loop()
        deep_at = loop.time() + self.deep_every_s
        while True:
            await asyncio.sleep(self.full_every_s)
            deep = loop.time() >= deep_at
            if deep:
                deep_at = loop.time() + self.deep_every_s
            self.collect_now(deep=deep)
