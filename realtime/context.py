"""What a command handler receives: its socket, the caller and the transport's dependencies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from domain.auth.service import Principal
from domain.raw_statements import Fetch
from domain.transaction import unit_of_work
from realtime.frames import Ref

if TYPE_CHECKING:
    from realtime.connection import Connection
    from realtime.deps import RealtimeDeps


@dataclass(frozen=True, slots=True)
class CommandContext:
    """One command on one socket."""

    connection: Connection
    ref: Ref

    @property
    def principal(self) -> Principal:
        return self.connection.principal

    @property
    def deps(self) -> RealtimeDeps:
        return self.connection.deps

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One session and transaction for this command; events publish after commit."""
        async with unit_of_work(self.connection.deps.sessions) as session:
            yield session

    @asynccontextmanager
    async def lagging_read(self) -> AsyncIterator[AsyncSession]:
        """A session for a pure read that tolerates replication lag: the read replica's if one is configured,
        else this command's transaction on the primary (``domain/read_sessions.py``)."""
        async with self.connection.deps.reads.lagging() as session:
            yield session

    @asynccontextmanager
    async def primary_read(self) -> AsyncIterator[AsyncSession]:
        """A session for a pure read that must be current (a membership check): on the primary, without a
        transaction (``domain/read_sessions.py``)."""
        async with self.connection.deps.reads.primary_read() as session:
            yield session

    @property
    def fetch_alone(self) -> Fetch:
        """Runs a command that is one statement (a pass) as its own transaction on the primary: one round trip, on a
        kept autocommit connection with no session around it when one is free (``domain/read_lane.py``)."""
        return self.connection.deps.reads.fetch_alone

    @asynccontextmanager
    async def ranked_read(self) -> AsyncIterator[tuple[AsyncSession, AsyncSession | None]]:
        """The primary's session and the replica's (None without one) for a read ranked on the replica and
        re-checked on the primary; without a replica a pure read on the primary (``domain/read_sessions.py``)."""
        async with self.connection.deps.reads.ranked() as sessions:
            yield sessions

    @asynccontextmanager
    async def replica(self) -> AsyncIterator[AsyncSession | None]:
        """A read replica session beside ``transaction()`` for a service that reads lagging data and checks it
        on the primary; None without a replica."""
        async with self.connection.deps.reads.beside() as session:
            yield session
