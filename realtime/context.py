"""What a command handler receives: its socket, the caller and the process resources."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from domain.auth.service import Principal
from domain.transaction import unit_of_work
from realtime.frames import Ref

if TYPE_CHECKING:
    from delete_api.resources import Resources
    from realtime.connection import Connection


@dataclass(frozen=True, slots=True)
class CommandContext:
    """One command on one socket."""

    connection: Connection
    ref: Ref

    @property
    def principal(self) -> Principal:
        return self.connection.principal

    @property
    def resources(self) -> Resources:
        return self.connection.res

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One session and transaction for this command; events publish after commit."""
        async with unit_of_work(self.connection.res.sessions) as session:
            yield session
