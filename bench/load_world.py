"""The devices of the simulated app users of ``python -m bench load``, and the world they share.

A ``Device`` is one app installation (a phone, a tablet): its socket (a ``LoadClient``, the project's
``DeleteClient`` with the per-frame hooks of ``tests/support/simulated_users.py``, which the invariant
workload's sockets use too) comes and goes across drops and app restarts, while the device
keeps every durable ``seq`` it received, so the verification can tell a lost event from one that was
late. The hook runs inside the client's reader for every frame that the client accepts (durable events
already deduped by ``seq``), stamps it with this process's monotonic clock and hands it to its user, so
no task per socket beyond the client's own reader is needed and nothing is queued unread.

The ``World`` is what the bench process knows about the run (the users of ``load_users``, the nodes, the
clock, the rules' pacing) and the one way a user sends a command (``World.call``), which counts it in the
run's ``Recorder`` (``load_recorder``) with its reply latency or its error.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from delete_client import ClientError, Closed

from bench.load_recorder import Recorder
from tests.support.simulated_users import TappedClient, attempt

if TYPE_CHECKING:
    from bench.load_users import Moderator, SimUser

CALL_TIMEOUT_S = 15.0


class LoadClient(TappedClient):
    """``DeleteClient`` that hands every accepted frame to its device at once, stamped on arrival."""

    def __init__(self, device: Device, urls: list[str], token: str, last_seq: int | None) -> None:
        super().__init__(urls, token, last_seq=last_seq)
        self.device = device
        self.syncing = 0  # explicit ``sync`` calls in flight: what arrives meanwhile is a replay
        self._replay = False

    def on_frame(self, message: str | bytes, at_ns: int) -> None:
        # decided before the client routes the frame: the reply of a resume's sync ends the replay
        self._replay = self._resync_ref is not None or self.syncing > 0

    def on_event(self, event: dict[str, Any], at_ns: int) -> None:
        # taken right back off the client's queue: the device keeps what it needs, nothing piles up unread
        self.device.on_event(self.take_event(), at_ns, self._replay)

    def drop(self) -> None:
        """Lose the network: the TCP connection goes without a close frame (the client resumes)."""
        ws = self._ws
        if ws is not None:
            ws.transport.abort()

    @property
    def node_offset(self) -> int:
        return self._url_index

    @property
    def is_open(self) -> bool:
        return self._ws is not None


@dataclass(eq=False)
class Device:
    """One app installation of a user, on ``home`` node first; it keeps what it received across sockets."""

    user: SimUser
    home: int
    primary: bool
    client: LoadClient | None = None
    start_seq: int | None = None  # the user's last seq when this device first connected
    seqs: list[int] = field(default_factory=list)  # durable seqs accepted, in arrival order
    live: int = 0
    replayed: int = 0
    restarts: int = 0
    drops: int = 0

    def urls(self, all_urls: list[str]) -> list[str]:
        n = len(all_urls)
        return [all_urls[(self.home + k) % n] for k in range(n)]

    @property
    def node(self) -> int | None:
        """The node index the socket is on now, or None while it is not connected."""
        client = self.client
        if client is None or not client.is_open:
            return None
        return (self.home + client.node_offset) % self.user.world.node_count

    @property
    def last_seq(self) -> int:
        return self.client.last_seq if self.client is not None else (self.seqs[-1] if self.seqs else 0)

    async def connect(self, urls: list[str], last_seq: int | None = None) -> float:
        """Open the socket (a fresh install, or resuming after ``last_seq``); return the seconds until hello."""
        started = time.monotonic()
        client = LoadClient(self, self.urls(urls), self.user.token, last_seq)
        await client.connect()
        self.client = client
        if self.start_seq is None:
            assert client.hello is not None
            self.start_seq = int(client.hello["last_seq"])
        return time.monotonic() - started

    def on_event(self, frame: dict[str, Any], now: int, replay: bool) -> None:
        seq = frame.get("seq")
        if isinstance(seq, int):
            self.seqs.append(seq)
            if replay:
                self.replayed += 1
            else:
                self.live += 1
        world = self.user.world
        world.rec.delivered[int((now - world.rec.start_ns) // 1_000_000_000)] += 1
        world.rec.event_types[str(frame.get("type"))] += 1
        self.user.on_event(self, frame, now, replay)

    async def close(self) -> None:
        if self.client is not None:
            with contextlib.suppress(Exception):
                await self.client.close()


class World:
    """What the bench process knows about the run: the users, the nodes, the clock and the rules' pacing."""

    def __init__(self, urls: list[str], rec: Recorder, *, seed: int, like_interval_s: float,
                 report_every_s: float = 6.0, drop_every_s: float = 180.0, restart_every_s: float = 300.0) -> None:
        self.urls = urls
        self.node_count = len(urls)
        self.rec = rec
        self.rng = random.Random(seed)
        self.users: dict[str, SimUser] = {}
        self.running = False
        self.like_interval_s = like_interval_s
        self.report_every_s = report_every_s
        self.drop_every_s = drop_every_s
        self.restart_every_s = restart_every_s
        self.next_report_at = 0.0
        self.comment_counter = itertools.count(1)
        self.message_counter = itertools.count(1)
        self.moderator: Moderator | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def devices(self) -> list[Device]:
        return [d for u in self.users.values() for d in u.devices]

    async def call(self, device: Device, kind: str, data: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """Send one command on the device's socket; record its reply latency, or its error by code."""
        client = device.client
        if client is None:
            return None
        rec = self.rec
        started = time.monotonic_ns()
        rec.commands[int((started - rec.start_ns) // 1_000_000_000)] += 1
        rec.command_types[kind] += 1
        outcome = await attempt(client, kind, data, CALL_TIMEOUT_S)
        if outcome.error is None or isinstance(outcome.error, ClientError):
            rec.completed += 1
        if outcome.error is not None:
            rec.errors[_error_key(kind, outcome.error)] += 1
            return None
        rec.sample(f"reply {kind}", started, time.monotonic_ns())
        return outcome.reply


def _error_key(kind: str, error: ClientError | Closed | TimeoutError) -> str:
    """How the run counts a failed command: by its error code, or by why no reply came."""
    if isinstance(error, ClientError):
        return f"{kind}: {error.code}"
    if isinstance(error, Closed):
        return f"{kind}: interrupted by a socket drop"
    return f"{kind}: no reply within {CALL_TIMEOUT_S:g}s"
