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


def walked(obj: object) -> bool:
    """Whether collections still walk ``obj`` (``gc.get_objects`` lists every tracked object that is not frozen)."""
    return any(o is obj for o in gc.get_objects())


class Holder:
    def __init__(self) -> None:
        self.node: Node | None = None


async def test_survivors_are_frozen_and_the_hourly_deep_collection_frees_cycles_among_them() -> None:
    """Scheduled collections skip what survived the one before; the deep one walks everything again."""
    collector = Collector(young_threshold=1_000_000, full_every_s=0.1, deep_every_s=3600)
    collector.start()
    try:
        holder = Holder()
        holder.node = Node()
        holder.node.other = Node()
        holder.node.other.other = holder.node  # a cycle that is still in use
        gone = weakref.ref(holder.node)
        assert walked(holder.node)
        done = collector.full_collections
        while collector.full_collections < done + 1:
            await asyncio.sleep(0.05)
        assert not walked(holder.node)  # it survived a scheduled collection: frozen, out of later walks
        holder.node = None  # now the frozen cycle is garbage: only a deep collection finds it
        assert gone() is not None
        collector.collect_now(deep=True)
        assert gone() is None
        assert collector.deep_collections == 1
    finally:
        await collector.stop()
    assert gc.get_freeze_count() == 0


async def test_the_deep_collection_comes_on_its_schedule() -> None:
    collector = Collector(young_threshold=1_000_000, full_every_s=0.05, deep_every_s=0.2)
    collector.start()
    try:
        for _ in range(40):
            if collector.deep_collections >= 1:
                break
            await asyncio.sleep(0.05)
        assert collector.deep_collections >= 1
        assert collector.full_collections > collector.deep_collections
    finally:
        await collector.stop()
