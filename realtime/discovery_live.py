"""Discovery on this node: each socket's cards and open credits, filled live.

Per socket (``Connection.data["discovery"]``): the ids already sent on it and not yet passed or liked on it
(so repeated requests page through people instead of repeating them; ``forget_shown``), the open
credits (``count`` asked minus cards sent, when nobody was left) and a lock
that serialises the socket's request with the live fills.

Per process, one ``DiscoveryLive`` (a resource of the lifespan, listening from the start):

- it listens to the discovery channel through the hub's single subscription
  (``Hub.on_broadcast``); a ``profile_changed`` message only queues the user id,
  and one short-lived task drains the queue, coalescing bursts;
- for each changed person it checks, with one query for all of them, which of
  this node's viewers with open credits now see that person (the batch's own
  filters, restricted to those pairs), and pushes a card to each such socket;
  if the changed person has open credits themselves (their preferences may
  have widened), their socket is topped up with a normal batch;
- every ``SWEEP_S`` seconds while credits are open, passes of those viewers
  that expired since the last sweep are checked the same way.

Only sockets with open credits (or a request in flight) are kept, so a change
costs nothing for the others; a socket that ends is forgotten at once
(``DiscoveryLive.forget``). A fill never waits on a socket: cards go through its bounded
outbox.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.background import cancel_and_wait
from domain.discovery import service as discovery
from domain.errors import DomainError
from domain.events import wire
from domain.photos.storage import MediaStorage
from domain.transaction import unit_of_work
from domain.wire.events import DiscoveryCard
from domain.wire.objects import Card
from realtime.hub import Hub

if TYPE_CHECKING:
    from realtime.connection import Connection

log = logging.getLogger("realtime.discovery")

STATE_KEY = "discovery"
SWEEP_S = 60.0
PAIRS_PER_QUERY = 2_000


def card_frame(card: Card) -> str:
    """The ephemeral ``discovery.card`` event."""
    data: DiscoveryCard = {"card": card}
    return wire.frame("discovery.card", data)


EMPTY_FRAME = wire.frame("discovery.empty", {})


@dataclass(eq=False)
class SocketDiscovery:
    """Discovery state of one socket."""

    conn: Connection
    viewer_id: uuid.UUID
    sent: set[uuid.UUID] = field(default_factory=set)
    credits: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def push_card(self, card: Card) -> None:
        """Send ``card`` on this socket and remember it was shown."""
        self.sent.add(uuid.UUID(card["user_id"]))
        self.conn.push(card_frame(card))


def forget_shown(conn: Connection, user_id: uuid.UUID) -> None:
    """The socket's user passed or liked ``user_id``: the batches leave them out for that reason now, so the
    socket stops carrying them in its ``sent`` (which every batch passes to every tier query, and checks every
    person read against): it holds the cards shown and not yet answered, not every card of the session. After
    ``pass.undo`` the person can come again, as on any other socket."""
    state = conn.data.get(STATE_KEY)
    if isinstance(state, SocketDiscovery):
        state.sent.discard(user_id)


def socket_state(conn: Connection) -> SocketDiscovery:
    """The socket's discovery state (created on first use)."""
    state = conn.data.get(STATE_KEY)
    if not isinstance(state, SocketDiscovery):
        state = SocketDiscovery(conn, conn.principal.user_id)
        conn.data[STATE_KEY] = state
    return state


class DiscoveryLive:
    """Open credits of this node's sockets, filled when someone becomes eligible (one per process)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], storage: MediaStorage, hub: Hub,
                 channel: str, sweep_s: float = SWEEP_S) -> None:
        self.sessions = sessions
        self.storage = storage
        self.hub = hub
        self.channel = channel
        self.sweep_s = sweep_s
        self._sockets: set[SocketDiscovery] = set()
        self._changed: set[uuid.UUID] = set()
        self._draining: asyncio.Task[None] | None = None
        self._sweep: asyncio.TimerHandle | None = None
        self._sweeping: asyncio.Task[None] | None = None
        self._swept_until = datetime.now(UTC)
        self.fills = 0

    async def start(self) -> None:
        """Listen to the discovery channel (through the hub's one subscription) from now on."""
        await self.hub.on_broadcast(self.channel, self.on_broadcast)

    async def stop(self) -> None:
        """Stop the sweep timer and wait for fills in flight."""
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None
        await cancel_and_wait(self._draining)
        await cancel_and_wait(self._sweeping)

    def forget(self, conn: Connection) -> None:
        """The socket ended: drop its discovery state, which refers back to it, here and from the live fills.

        Otherwise the connection and the state form a reference cycle, and the ended socket's objects (its
        protocol, buffers and tasks) wait for a full garbage collection instead of being freed at once.
        """
        state = conn.data.pop(STATE_KEY, None)
        if isinstance(state, SocketDiscovery):
            self.untrack(state)

    # -- sockets -----------------------------------------------------------------
    def track(self, state: SocketDiscovery) -> None:
        """Remember a socket that is asking for cards (called before it takes its lock)."""
        self._sockets.add(state)
        if state.credits > 0:
            self._schedule_sweep()

    def untrack(self, state: SocketDiscovery) -> None:
        """Forget a socket that ended."""
        self._sockets.discard(state)

    def _alive(self, state: SocketDiscovery) -> bool:
        conn = state.conn
        return conn.close_code is None and not conn.closing and conn in self.hub.sockets_of(conn.user_key)

    def _waiting(self) -> list[SocketDiscovery]:
        """Live sockets with open credits or a request in flight; forget the others.

        A socket that asks again is tracked again before it takes its lock (with no await
        in between), so forgetting idle sockets here never misses a request in flight.
        """
        out = []
        for state in list(self._sockets):
            if (state.credits > 0 or state.lock.locked()) and self._alive(state):
                out.append(state)
            else:
                self._sockets.discard(state)
        return out

    # -- profile_changed ------------------------------------------------------------
    def on_broadcast(self, kind: wire.Kind, payload: str) -> None:
        """Hub callback (must not block): queue the changed user and make sure a drain runs."""
        if kind != "C":
            return
        try:
            message = json.loads(payload)
            user_id = uuid.UUID(str(message["user_id"])) if message.get("op") == "profile_changed" else None
        except (ValueError, KeyError, TypeError):
            return
        if user_id is None:
            return
        self._changed.add(user_id)
        if self._draining is None or self._draining.done():
            self._draining = asyncio.create_task(self._drain(), name="discovery-live")

    async def _drain(self) -> None:
        while self._changed:
            changed, self._changed = self._changed, set()
            try:
                await self.fill_changed(changed)
            except Exception:
                log.exception("live discovery fill failed")

    async def fill_changed(self, changed: set[uuid.UUID]) -> None:
        """Offer each changed person to every waiting socket that now sees them."""
        waiting = self._waiting()
        if not waiting:
            return
        pairs = {(s.viewer_id, user_id) for s in waiting for user_id in changed
                 if user_id != s.viewer_id and user_id not in s.sent}
        await self._offer(waiting, pairs)
        for state in waiting:
            if state.viewer_id in changed:
                await self._top_up(state)

    async def _top_up(self, state: SocketDiscovery) -> None:
        """A viewer whose own profile changed may see new people: run a batch for the open credits."""
        async with state.lock:
            if state.credits <= 0 or not self._alive(state):
                return
            try:
                async with unit_of_work(self.sessions) as session:
                    batch = await discovery.next_batch(session, self.storage, state.viewer_id, state.credits,
                                                       state.sent)
            except DomainError:  # e.g. they just cleared their location: nothing to show until they ask again
                return
            for card in batch.cards:
                state.push_card(card)
            state.credits -= len(batch.cards)
            self.fills += len(batch.cards)

    async def _offer(self, waiting: list[SocketDiscovery], pairs: set[tuple[uuid.UUID, uuid.UUID]]) -> None:
        """Check ``pairs`` with the batch's filters and push each eligible card to its waiting sockets."""
        if not pairs:
            return
        ordered = sorted(pairs)
        cards: dict[tuple[uuid.UUID, uuid.UUID], Card] = {}
        async with unit_of_work(self.sessions) as session:
            for start in range(0, len(ordered), PAIRS_PER_QUERY):
                eligible = await discovery.eligible_pairs(session, ordered[start:start + PAIRS_PER_QUERY])
                cards.update(await discovery.cards_for_pairs(session, self.storage, eligible))
        for state in waiting:
            mine = [(pair, card) for pair, card in cards.items() if pair[0] == state.viewer_id]
            if not mine:
                continue
            async with state.lock:  # after a request in flight has set the credits
                for (_, user_id), card in mine:
                    if state.credits <= 0 or not self._alive(state):
                        break
                    if user_id in state.sent:
                        continue
                    state.push_card(card)
                    state.credits -= 1
                    self.fills += 1

    # -- expiring passes ------------------------------------------------------------
    def _schedule_sweep(self) -> None:
        """Arm the next sweep (one timer per node, only while credits are open)."""
        if self._sweep is None:
            self._sweep = asyncio.get_running_loop().call_later(self.sweep_s, self._start_sweep)

    def _start_sweep(self) -> None:
        self._sweep = None
        if self._sweeping is None or self._sweeping.done():
            self._sweeping = asyncio.create_task(self.sweep(), name="discovery-sweep")

    async def sweep(self) -> None:
        """Offer the people whose pass by a waiting viewer expired since the last sweep."""
        until = datetime.now(UTC)
        since, self._swept_until = self._swept_until, until
        try:
            waiting = [s for s in self._waiting() if s.credits > 0]
            if waiting:
                async with unit_of_work(self.sessions) as session:
                    expired = await discovery.expired_passes(
                        session, sorted({s.viewer_id for s in waiting}), since, until)
                await self._offer(waiting, set(expired))  # each socket skips people it was already shown
        except Exception:
            log.exception("discovery sweep failed")
        if any(s.credits > 0 for s in self._waiting()):
            self._schedule_sweep()
