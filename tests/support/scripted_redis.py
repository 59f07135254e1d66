"""A scripted Redis: a TCP server that parses commands as Redis would and answers as a test says, for what a
real Redis will not do on cue (stall, hang up, leave a setup unanswered)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import hiredis


@dataclass
class Scripted:
    """A TCP server that parses commands as Redis would and answers through ``answer`` (None: no reply)."""

    answer: Callable[[list[bytes]], bytes | None]
    commands: list[list[bytes]] = field(default_factory=list)
    connections: int = 0
    closed_by_client: int = 0
    hang_up_after: int | None = None  # close a connection after this many commands
    port: int = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        parser = hiredis.Reader()
        seen = 0
        while data := await reader.read(65536):
            parser.feed(data)
            while (command := parser.gets()) is not False:
                self.commands.append(command)
                seen += 1
                if self.hang_up_after is not None and seen >= self.hang_up_after:
                    writer.close()
                    return
                if (reply := self.answer(command)) is not None:
                    writer.write(reply)
        self.closed_by_client += 1
        writer.close()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"


@contextlib.asynccontextmanager
async def scripted(answer: Callable[[list[bytes]], bytes | None], **kwargs: Any) -> AsyncIterator[Scripted]:
    script = Scripted(answer, **kwargs)
    server = await asyncio.start_server(script.serve, "127.0.0.1", 0)
    script.port = server.sockets[0].getsockname()[1]
    try:
        yield script
    finally:
        server.close()
