"""The server process's garbage-collection policy: rare young collections, full ones on a schedule."""

from __future__ import annotations

import asyncio
import gc
import weakref

from delete_api.collector import Collector


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


async def test_cycles_are_freed_by_the_scheduled_full_collection_and_defaults_come_back() -> None:
    before = gc.get_threshold()
    collector = Collector(young_threshold=1_000_000, full_every_s=0.2)
    collector.start()
    try:
        assert gc.get_threshold()[0] == 1_000_000
        assert gc.get_freeze_count() > 0  # what existed at start-up is out of every later scan
        a, b = Node(), Node()
        a.other, b.other = b, a  # a cycle: reference counting alone never frees it
        gone = weakref.ref(a)
        del a, b
        await asyncio.sleep(0.05)
        assert gone() is not None  # no young collection this soon at a threshold of 1,000,000
        for _ in range(40):
            if gone() is None:
                break
            await asyncio.sleep(0.05)
        assert gone() is None, "the scheduled full collection should have freed the cycle"
        assert collector.full_collections >= 1
    finally:
        await collector.stop()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
