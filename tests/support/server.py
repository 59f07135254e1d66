"""Run the real app under uvicorn on an ephemeral loopback port, inside the test's event loop."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import uvicorn

from delete_api.app import create_app, uvicorn_options
from delete_api.quiet_server import QuietServer
from delete_api.settings import Settings


@dataclass
class RunningServer:
    """A server listening on ``base_url`` (``ws_url`` for the socket)."""

    base_url: str
    ws_url: str
    settings: Settings
    server: uvicorn.Server


def loopback_socket(port: int = 0) -> socket.socket:
    """A TCP socket bound to 127.0.0.1 (an ephemeral port by default), not yet listening.

    Bind it first when the settings must know the server's own URL (``public_base_url`` for a
    browser's Origin), then hand it to ``run_server(..., sock=...)``.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


def base_url_of(sock: socket.socket) -> str:
    """``http://127.0.0.1:<port>`` of a socket from ``loopback_socket``."""
    return f"http://127.0.0.1:{sock.getsockname()[1]}"


@asynccontextmanager
async def run_server(settings: Settings, *, timeout_s: float = 20.0,
                     sock: socket.socket | None = None) -> AsyncIterator[RunningServer]:
    """Start the app, wait until it listens, yield, then shut it down gracefully.

    ``sock`` (from ``loopback_socket``) is served instead of a fresh ephemeral port; it is closed on exit.
    """
    sock = sock if sock is not None else loopback_socket()
    port = sock.getsockname()[1]
    options = {**uvicorn_options(settings), "timeout_graceful_shutdown": 5}
    config = uvicorn.Config(create_app(settings), lifespan="on", log_level="warning", **options)
    server = QuietServer(config)  # the server ``delete-api serve`` runs
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(timeout_s):
            while not server.started:
                if task.done():
                    task.result()
                    raise RuntimeError("server exited during start-up")
                await asyncio.sleep(0.01)
        yield RunningServer(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}", settings, server)
    finally:
        server.should_exit = True
        try:
            async with asyncio.timeout(timeout_s):
                await task
        finally:
            sock.close()
