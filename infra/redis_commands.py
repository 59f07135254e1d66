"""What the command path sends to Redis through (``Commands``): the lean pipelined channel to a single Redis
(``infra.resp_channel``) or, for a cluster or a TLS URL, redis-py's client, which routes each command to the
shard owning its key or channel."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import redis.asyncio as aioredis

from infra.resp_channel import Arg, Command, RespChannel


class Commands(Protocol):
    """Redis commands with redis-py's exceptions: one call, or several written together."""

    async def call(self, *command: Arg) -> Any: ...

    async def call_many(self, commands: Sequence[Command], *, raise_on_error: bool = True) -> list[Any]:
        """The replies in order; an error reply raises once all are in, or with ``raise_on_error=False`` stands in
        the list as its ``ResponseError``."""

    async def close(self) -> None: ...


class RedisPyCommands:
    """``Commands`` on a redis-py client (a single Redis's or a cluster's); closing it is its owner's job."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def call(self, *command: Arg) -> Any:
        return await self.redis.execute_command(*command)  # type: ignore[no-untyped-call]  # unannotated

    async def call_many(self, commands: Sequence[Command], *, raise_on_error: bool = True) -> list[Any]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for command in commands:
                pipe.execute_command(*command)
            return list(await pipe.execute(raise_on_error=raise_on_error))

    async def close(self) -> None:
        return None


def command_channel(url: str, redis: aioredis.Redis) -> Commands:
    """The lean channel when ``url`` names a single Redis without TLS, else ``redis`` itself."""
    return RespChannel(url, name="delete-api-commands") if RespChannel.supports(url) else RedisPyCommands(redis)
