"""The client side of ``python -m bench realtime``: opening many sockets on the systems' nodes at once, and
``Receivers``, a reading task per socket that counts frames per node and, while recording, notes each event's
latency (send time carried in the event, arrival time here) and arrival."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from bench.harness import BenchError, open_socket
from bench.realtime_systems import EVENT_TYPE, System

NODES = ("a", "b", "c")
CONNECT_CONCURRENCY = 100
DRAIN_TIMEOUT_S = 20.0


async def open_many(system: System, placement: list[tuple[int, int]]) -> list[ClientConnection]:
    """A socket per ``(node, user)``, ``CONNECT_CONCURRENCY`` at a time; fail if any cannot open."""
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(node: int, user: int) -> ClientConnection:
        async with gate:
            return await open_socket(*system.socket(node, user))

    results = await asyncio.gather(*(one(n, u) for n, u in placement), return_exceptions=True)
    sockets = [r for r in results if isinstance(r, ClientConnection)]
    errors = [r for r in results if not isinstance(r, ClientConnection)]
    if errors:
        abort(sockets)
        raise BenchError(f"{len(errors)} of {len(placement)} {system.name} sockets did not open: {errors[0]!r}")
    return sockets


def abort(sockets: list[ClientConnection]) -> None:
    for ws in sockets:
        ws.transport.abort()


class Receivers:
    """Sockets read by a task each: frames counted per node, and while ``recording``, arrivals."""

    def __init__(self) -> None:
        self.counts = [0] * len(NODES)
        self.recording = False
        self.latency_ns: dict[int, int] = {}
        self.arrived_ns: dict[int, int] = {}
        self.sockets: list[ClientConnection] = []
        self.tasks: list[asyncio.Task[None]] = []

    async def open(self, system: System, placement: list[tuple[int, int]]) -> None:
        self.sockets = await open_many(system, placement)
        self.tasks = [asyncio.create_task(self._read(ws, node))
                      for ws, (node, _) in zip(self.sockets, placement, strict=True)]

    async def _read(self, ws: ClientConnection, node: int) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for text in ws:
                now = time.time_ns()
                self.counts[node] += 1
                if self.recording:
                    frame = json.loads(text)
                    if frame.get("type") == EVENT_TYPE:
                        i = frame["data"]["i"]
                        self.latency_ns.setdefault(i, now - frame["data"]["t"])
                        self.arrived_ns.setdefault(i, now)

    def reset(self) -> None:
        self.counts = [0] * len(NODES)
        self.latency_ns.clear()
        self.arrived_ns.clear()

    async def wait_total(self, total: int, timeout_s: float = DRAIN_TIMEOUT_S) -> bool:
        deadline = time.monotonic() + timeout_s
        while sum(self.counts) < total:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    async def close(self) -> None:
        abort(self.sockets)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
