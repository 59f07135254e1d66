"""delete_api/quiet_server.py: the server ``delete-api serve`` runs wakes once a second when idle, not ten
times, still refreshes its Date header every second, and stops at once when told to (a signal or a harness),
not at its next tick."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import uvicorn

from delete_api.quiet_server import QuietServer
from tests.support.server import loopback_socket


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


class _CountingServer(QuietServer):
    ticks = 0

    async def on_tick(self, counter: int) -> bool:
        self.ticks += 1
        return await super().on_tick(counter)


async def _started(server: QuietServer) -> tuple[asyncio.Task[None], str]:
    sock = loopback_socket()
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        assert not task.done(), "the server stopped during start-up"
        await asyncio.sleep(0.01)
    return task, f"http://127.0.0.1:{sock.getsockname()[1]}"


async def test_an_idle_server_ticks_once_a_second_and_its_date_header_stays_current() -> None:
    server = _CountingServer(uvicorn.Config(_app, lifespan="off", log_level="warning"))
    task, url = await _started(server)
    try:
        async with httpx.AsyncClient(base_url=url) as client:
            first = (await client.get("/")).headers["date"]
            ticks_before = server.ticks
            await asyncio.sleep(2.5)
            later = (await client.get("/")).headers["date"]
        assert server.ticks - ticks_before <= 4, server.ticks - ticks_before  # uvicorn's own loop: about 25
        assert later != first  # refreshed within the 2.5 s (uvicorn refreshes it once a second)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def test_told_to_exit_it_stops_at_once_not_at_its_next_tick() -> None:
    for _ in range(3):  # a server that waited for its next tick would stop 0.5 s later on average
        server = QuietServer(uvicorn.Config(_app, lifespan="off", log_level="warning"))
        task, _url = await _started(server)
        await asyncio.sleep(0.05)
        told = time.monotonic()
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        assert time.monotonic() - told < 0.3, time.monotonic() - told
