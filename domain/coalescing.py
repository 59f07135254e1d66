"""Concurrent look-ups of one kind answered by one query: what a reconnect storm needs.

When a node restarts, thousands of sockets come back to the other nodes within a second or two, and each
one asks the same small questions (is this login live? where is my stream, what did I miss?). A
``Coalescer`` turns the questions asked at about the same time into one query: the first caller of an
idle coalescer starts a batch at once (after one turn of the event loop, so the callers of that same
turn join it); everyone who asks while a batch runs waits for the next one, which takes all of them. An
idle server therefore adds no delay, and a storm costs one query per batch instead of one per socket.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

MAX_BATCH = 500


class Coalescer(Generic[K, V]):
    """``get(key)`` answered by ``fetch(keys)`` for every key asked while the previous batch ran.

    ``fetch`` returns one answer per key, in order. If it raises, every caller of that batch gets the
    exception (a database outage fails them all, as it would have failed each of them).
    """

    def __init__(self, fetch: Callable[[Sequence[K]], Awaitable[Sequence[V]]], max_batch: int = MAX_BATCH) -> None:
        self._fetch = fetch
        self._max_batch = max_batch
        self._pending: list[tuple[K, asyncio.Future[V]]] = []
        self._task: asyncio.Task[None] | None = None
        self.batches = 0  # queries run (for tests and benchmarks)
        self.keys = 0  # keys answered by them

    async def get(self, key: K) -> V:
        """The answer for ``key``, fetched together with every other key asked meanwhile."""
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._pending.append((key, future))
        if self._task is None:
            self._task = asyncio.create_task(self._drain(), name="coalescer")
        return await future

    async def _drain(self) -> None:
        try:
            await asyncio.sleep(0)  # the callers of this loop turn join the first batch
            while self._pending:
                batch = self._pending[:self._max_batch]
                del self._pending[:self._max_batch]
                batch = [(key, future) for key, future in batch if not future.done()]  # a caller may have left
                if batch:
                    await self._run(batch)
        finally:
            self._task = None

    async def _run(self, batch: list[tuple[K, asyncio.Future[V]]]) -> None:
        self.batches += 1
        self.keys += len(batch)
        try:
            answers = await self._fetch([key for key, _ in batch])
        except Exception as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        except BaseException:  # cancelled (the server stops): nobody of this batch waits forever
            for _, future in batch:
                future.cancel()
            raise
        for (_, future), answer in zip(batch, answers, strict=True):
            if not future.done():
                future.set_result(answer)
