"""The bare floor of the realtime benchmark: a raw ``websockets`` relay through Redis.

Same routing shape as ``delete-api serve`` (one Redis pub/sub connection per
process, one channel per connected client, a PUBLISH reaches exactly the
processes holding that client) and the same socket limits (64 KiB frames, no
compression, the same ping interval), but no authentication, no JSON and no
database: a client connects to ``/c/<id>``, the server subscribes
``floor:<id>``, says ``hello`` once the subscription is confirmed, and
forwards each message's bytes as a text frame.

Run: ``python -m bench.floor --port P --redis URL``. ``GET /health``
answers 200 once the Redis subscription is live.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable
from http import HTTPStatus

import redis.asyncio as aioredis
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

PREFIX = "floor:"
MAX_FRAME = 64 * 1024
HEARTBEAT_S = 25


class Relay:
    """Redis channel -> local sockets, with one pub/sub connection for the whole process."""

    def __init__(self, redis_url: str, prefix: str = PREFIX) -> None:
        self.redis = aioredis.Redis.from_url(redis_url)
        self.pubsub = self.redis.pubsub()
        self.prefix = prefix
        self.sockets: dict[bytes, set[ServerConnection]] = {}
        self.waiters: dict[bytes, list[asyncio.Future[None]]] = {}
        self.live = asyncio.Event()

    async def listen(self) -> None:
        # a pub/sub connection exists only once something is subscribed
        await self.pubsub.subscribe(f"{self.prefix}_")
        self.live.set()
        while True:
            message = await self.pubsub.get_message(timeout=None)
            if message is None:
                continue
            channel = message["channel"]
            if message["type"] == "message":
                for ws in tuple(self.sockets.get(channel, ())):
                    with contextlib.suppress(ConnectionClosed):
                        await ws.send(message["data"], text=True)
            elif message["type"] == "subscribe":
                for waiter in self.waiters.pop(channel, []):
                    if not waiter.done():
                        waiter.set_result(None)

    async def handle(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        channel = (self.prefix + ws.request.path.rsplit("/", 1)[-1]).encode()
        members = self.sockets.setdefault(channel, set())
        first = not members
        members.add(ws)
        try:
            if first:
                waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                self.waiters.setdefault(channel, []).append(waiter)
                await self.pubsub.subscribe(channel)
                await asyncio.wait_for(waiter, 5)
            await ws.send("hello")
            await ws.wait_closed()
        finally:
            members.discard(ws)
            if not members:
                del self.sockets[channel]
                with contextlib.suppress(Exception):
                    await self.pubsub.unsubscribe(channel)

    def health(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.path != "/health":
            return None
        if not self.live.is_set():
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "starting\n")
        return connection.respond(HTTPStatus.OK, "ok\n")


async def run(port: int, redis_url: str, host: str = "127.0.0.1") -> None:
    """Serve until SIGTERM or SIGINT."""
    relay = Relay(redis_url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    listener = asyncio.create_task(relay.listen())
    try:
        async with serve(relay.handle, host, port, process_request=relay.health, max_size=MAX_FRAME,
                         compression=None, ping_interval=HEARTBEAT_S, ping_timeout=HEARTBEAT_S):
            await stop.wait()
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await listener
        with contextlib.suppress(Exception):
            close: Callable[[], Awaitable[None]] = relay.pubsub.aclose  # unannotated before redis-py 8.2
            await close()
            await relay.redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.floor",
                                     description="A bare websockets relay through Redis (the benchmark's floor).")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis", required=True, help="Redis URL (redis://, unix://)")
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    try:
        import uvloop  # the same event loop `delete-api serve` runs on (uvicorn picks uvloop when installed)
    except ImportError:
        asyncio.run(run(args.port, args.redis, args.host))
    else:
        uvloop.run(run(args.port, args.redis, args.host))


if __name__ == "__main__":
    main()
