"""What simulated app users share, in the invariant workload (``tests/invariants/workload.py``) and in the load
benchmark (``bench/load_users.py``, ``bench/load_world.py``): a socket that shows what arrives as it arrives,
one command and how it ended, and waiting until every socket has every event stored for its user.

A plain module (no pytest), so that the benchmark imports it too. Arrival times are
``time.monotonic_ns()`` of this process, the clock the callers stamp their commands with.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from delete_client import ClientError, Closed, DeleteClient
from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncEngine

_HEADS = text("SELECT user_id, last_seq FROM user_event_counters WHERE user_id = ANY(:ids)").bindparams(
    bindparam("ids", type_=ARRAY(UUID(as_uuid=True))))


class TappedClient(DeleteClient):
    """A ``DeleteClient`` that shows its subclass every frame as it arrives, then the event it accepted.

    ``on_frame`` sees each frame as received, before the client routes it; ``on_event`` then sees the event
    the client queued from it, if any (durable events already deduped by ``seq``), and may take it off the
    queue with ``take_event``. Both run inside the client's reader, stamped once on arrival.
    """

    def on_frame(self, message: str | bytes, at_ns: int) -> None:
        """Every frame received, before routing (the default does nothing)."""

    def on_event(self, event: dict[str, Any], at_ns: int) -> None:
        """Every event the client accepted and queued (the default leaves it queued)."""

    def take_event(self) -> dict[str, Any]:
        """Take the event just queued off the queue (from ``on_event``), so that nothing piles up unread."""
        return self._events.pop()

    def _route(self, message: str | bytes) -> Closed | None:
        at_ns = time.monotonic_ns()
        self.on_frame(message, at_ns)
        queued = len(self._events)
        fatal = super()._route(message)
        if len(self._events) > queued:
            self.on_event(self._events[-1], at_ns)
        return fatal


@dataclass(frozen=True)
class Outcome:
    """How one command ended: its ``reply``, or the ``error`` (a ``ClientError``, ``Closed`` or ``TimeoutError``)."""

    reply: dict[str, Any] | None
    error: ClientError | Closed | TimeoutError | None = None

    @property
    def code(self) -> str | None:
        """The error code of a refusal, the exception's name when no reply came, None on success."""
        if isinstance(self.error, ClientError):
            return self.error.code
        return None if self.error is None else type(self.error).__name__


async def attempt(client: DeleteClient, kind: str, data: dict[str, Any] | None, timeout_s: float) -> Outcome:
    """Send one command and wait (up to ``timeout_s``) for its reply; never raises for a refusal or a drop."""
    try:
        return Outcome(await client.call(kind, data, timeout=timeout_s))
    except (ClientError, Closed, TimeoutError) as exc:
        return Outcome(None, exc)


async def stored_heads(engine: AsyncEngine, users: Collection[uuid.UUID]) -> dict[uuid.UUID, int]:
    """The newest ``seq`` stored for each user (users without events are absent)."""
    async with engine.connect() as conn:
        rows = (await conn.execute(_HEADS, {"ids": list(users)})).all()
    return {row[0]: int(row[1]) for row in rows}


async def wait_caught_up(engine: AsyncEngine, sockets: Callable[[], Sequence[tuple[uuid.UUID, int]]], *,
                         timeout_s: float, poll_s: float) -> int:
    """Wait (up to ``timeout_s``) until every socket has the newest seq stored for its user.

    ``sockets`` gives each socket's ``(user, last seq received)`` at the moment it is called. Returns how many
    sockets are still behind (0: all caught up).
    """
    deadline = time.monotonic() + timeout_s
    while True:
        seen = sockets()
        heads = await stored_heads(engine, {user for user, _ in seen})
        behind = sum(1 for user, seq in seen if heads.get(user, 0) > seq)
        if not behind or time.monotonic() > deadline:
            return behind
        await asyncio.sleep(poll_s)
