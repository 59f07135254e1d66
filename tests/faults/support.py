"""The fault suite's tools: its own PostgreSQL and Redis, people with node tokens, recorders and checks.

``Infra`` is a PostgreSQL cluster and a Redis server that belong to this suite
alone (never the session's shared ones), so tests may SIGKILL Redis or stop
PostgreSQL mid-stream. ``Recorder`` is a ``DeleteClient`` (auto-resume, both
node URLs) that records every event as it arrives; ``stored_events`` and
``replay_from_zero`` give the two views the checks compare it with (the
database rows, and a fresh ``sync {after: 0}``). ``Chatter`` sends real
``messages.send`` traffic and re-sends unanswered ones with the same
``client_msg_id``.
``HealthWatch`` samples ``/v1/health`` so outage windows are measured, not guessed.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from delete_client import ClientError, Closed, DeleteClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import connect

from delete_api.embedded.postgres import EmbeddedPostgres
from delete_api.embedded.redis import EmbeddedRedis
from domain.auth import tokens
from tests.support.factory import TOKEN_CONFIG, Person, make_match, make_person
from tests.support.nodes import NODE_JWT_SECRET, Nodes
from tests.support.pg import create_database

DATABASE = "delete_faults"
NODE_TOKENS = tokens.TokenConfig(secret=NODE_JWT_SECRET)
WAIT_S = 10.0
REQUEST_TIMEOUT_S = 5.0  # "fast, clear errors": every request during an outage must answer within this


# -- the suite's own servers ------------------------------------------------------------------------

class Infra:
    """This suite's PostgreSQL cluster and Redis server, which tests kill, stop and start again."""

    def __init__(self, root: Path) -> None:
        self.pg = EmbeddedPostgres(root / "postgres", durable=False)
        self.redis = EmbeddedRedis(root / "redis")
        self.database_url = ""

    def start(self) -> None:
        """Start both servers and build the database with the real migrations."""
        self.pg.start()
        self.database_url = create_database(self.pg, DATABASE)
        self.redis.start()

    def stop(self) -> None:
        self.redis.stop()
        self.pg.stop()

    @property
    def redis_running(self) -> bool:
        return self.redis.process is not None and self.redis.process.poll() is None

    def kill_redis(self) -> None:
        """SIGKILL Redis (no shutdown, the socket file stays behind as after a crash) and reap it."""
        process = self.redis.process
        assert process is not None and process.poll() is None, "Redis is not running"
        process.send_signal(signal.SIGKILL)
        process.wait(5)

    def start_redis(self) -> None:
        """Start a fresh Redis on the same socket (nothing persisted: pub/sub, presence and counters are gone)."""
        self.redis.start()

    @property
    def postgres_running(self) -> bool:
        return self.pg.started_by_us and (self.pg.pgdata / "postmaster.pid").exists()

    def stop_postgres(self) -> None:
        """``pg_ctl stop -m fast``: open transactions are rolled back and every connection is cut."""
        self.pg.stop()

    def start_postgres(self) -> None:
        """Start the cluster again on the same data directory."""
        self.pg.start()


async def restore(infra: Infra, nodes: Nodes) -> None:
    """Bring back whatever a test left stopped: Redis, PostgreSQL, then every node, until all are healthy."""
    if not infra.redis_running:
        await asyncio.to_thread(infra.start_redis)
    if not infra.postgres_running:
        await asyncio.to_thread(infra.start_postgres)
    await nodes.start()  # starts the nodes that are not running
    for node in nodes.nodes:
        status, _ = await wait_health(node.base_url, 200, within_s=15)
        assert status == 200, f"node {node.index} not healthy: {nodes.log_tail(node.index)}"


# -- people -------------------------------------------------------------------------------------------

async def member(engine: AsyncEngine, name: str = "Sam", **kwargs: Any) -> Person:
    """A complete profile (photo, quiz; password ``PASSWORD``) whose access token works on every node."""
    person = await make_person(engine, name=name, **kwargs)
    family = tokens.decode(TOKEN_CONFIG, person.token, "access").family_id
    token, _ = tokens.issue(NODE_TOKENS, "access", person.id, family)
    return Person(person.id, person.email, token)


@dataclass(frozen=True)
class Pair:
    """Two matched people."""

    a: Person
    b: Person
    match_id: uuid.UUID


async def matched_pair(engine: AsyncEngine) -> Pair:
    a, b = await member(engine, "Ana"), await member(engine, "Ben")
    return Pair(a, b, await make_match(engine, a, b))


# -- what clients received ----------------------------------------------------------------------------

Event = tuple[str, str]  # (type, data as canonical JSON)


def canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


class Recorder(DeleteClient):
    """A ``DeleteClient`` that records every event itself, stamped on arrival, instead of queueing it.

    Durable events are kept by seq (after the client's own dedupe), ephemeral ones with the monotonic time
    at which the reader took them off the socket: a card stamped before a reply's ``call`` returned came
    before that reply on the wire.
    """

    def __init__(self, url: str | list[str], token: str, **kwargs: Any) -> None:
        super().__init__(url, token, **kwargs)
        self.durable: dict[int, Event] = {}
        self.arrivals: list[int] = []  # seqs in the order handed out
        self.ephemeral: list[tuple[float, dict[str, Any]]] = []
        self._recorded = asyncio.Event()

    async def __aenter__(self) -> Recorder:
        await self.connect()
        return self

    def _route(self, message: str | bytes) -> Closed | None:
        queued = len(self._events)
        fatal = super()._route(message)
        if len(self._events) > queued:
            event = self._events.pop()
            seq = event.get("seq")
            if isinstance(seq, int):
                self.durable[seq] = (str(event["type"]), canonical(event.get("data")))
                self.arrivals.append(seq)
            else:
                self.ephemeral.append((time.monotonic(), event))
            self._recorded.set()
        return fatal

    def message_ids(self) -> list[str]:
        """Ids of every ``message.created`` received, in arrival order."""
        return [json.loads(self.durable[s][1])["message"]["id"] for s in self.arrivals
                if self.durable[s][0] == "message.created"]

    async def wait_until(self, predicate: Callable[[], bool], timeout_s: float = WAIT_S,
                         what: str | Callable[[], str] = "") -> None:
        """Wait until ``predicate()`` holds (checked after every recorded event)."""
        try:
            async with asyncio.timeout(timeout_s):
                while not predicate():
                    self._recorded.clear()
                    await self._recorded.wait()
        except TimeoutError:
            raise AssertionError(f"not within {timeout_s}s: {what() if callable(what) else what}") from None

    async def catch_up(self, timeout_s: float = WAIT_S) -> int:
        """``sync`` from the client's position; when it replies, everything stored has been recorded.

        A socket that has just sent a burst (the retries after an outage) may be told ``rate_limited``:
        like an app, wait the ``retry_after_s`` it was given and ask again.
        """
        give_up = time.monotonic() + timeout_s
        while True:
            try:
                reply = await self.call("sync", {"after": self.last_seq}, timeout=timeout_s)
            except ClientError as exc:
                if exc.code != "rate_limited" or time.monotonic() > give_up:
                    raise
                await asyncio.sleep(float(exc.details.get("retry_after_s", 0.1)))
                continue
            return int(reply["last_seq"])


async def stored_events(engine: AsyncEngine, user_id: uuid.UUID) -> dict[int, Event]:
    """The user's durable events in the database, by seq."""
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT seq, type, payload FROM user_events WHERE user_id = :u ORDER BY seq"),
                                   {"u": user_id})).all()
    return {int(r[0]): (str(r[1]), canonical(r[2])) for r in rows}


async def replay_from_zero(ws_url: str, token: str) -> dict[int, Event]:
    """A fresh socket's ``sync {after: 0}``: every stored event in order (asserted), by seq."""
    got: dict[int, Event] = {}
    order: list[int] = []
    async with asyncio.timeout(30), connect(ws_url, additional_headers={"Authorization": f"Bearer {token}"},
                                            open_timeout=WAIT_S, max_size=None) as ws:
        hello = json.loads(await ws.recv())
        assert hello["type"] == "hello", hello
        await ws.send(json.dumps({"type": "sync", "ref": "all", "data": {"after": 0}}))
        while True:
            frame = json.loads(await ws.recv())
            if frame.get("type") == "reply" and frame.get("ref") == "all":
                assert frame["ok"] is True, frame
                last = int(frame["data"]["last_seq"])
                break
            seq = frame.get("seq")
            if isinstance(seq, int):
                order.append(seq)
                got[seq] = (str(frame["type"]), canonical(frame.get("data")))
    assert order == list(range(1, last + 1)), f"sync after 0 was not 1..{last} in order: {order[:20]}..."
    return got


async def wait_for_all(client: Recorder, expected: dict[int, Event], timeout_s: float, name: str = "") -> None:
    """Wait until ``client`` has recorded every seq of ``expected`` (without asking for them)."""
    await client.wait_until(lambda: set(expected) <= set(client.durable), timeout_s,
                            lambda: f"{name} received everything: {diff(client.durable, expected)}")


def diff(received: dict[int, Event], stored: dict[int, Event]) -> str:
    """A short description of how a client's events differ from the database ('' when equal)."""
    missing = sorted(set(stored) - set(received))
    extra = sorted(set(received) - set(stored))
    changed = sorted(s for s in set(stored) & set(received) if stored[s] != received[s])
    if not (missing or extra or changed):
        return ""
    return f"missing seqs {missing[:10]} ({len(missing)}), unknown seqs {extra[:10]}, differing seqs {changed[:10]}"


# -- chat ------------------------------------------------------------------------------------------------

@dataclass
class Sent:
    """One message a ``Chatter`` sent (and maybe re-sent with the same ``client_msg_id``)."""

    client_msg_id: str
    body: str
    sent_at: float  # monotonic, first attempt
    replied_at: float | None = None
    message_id: str | None = None  # from the ok reply
    error: str | None = None  # the error code of the last reply, if it was an error
    unanswered: int = 0  # attempts that got no reply (socket dropped or timed out) and were re-sent

    @property
    def ok(self) -> bool:
        return self.message_id is not None


class Chatter:
    """One member of a matched pair sending ``messages.send`` in a loop until told to stop.

    A send that gets no reply (the socket dropped, or no answer within ``timeout_s``) is re-sent with the
    same ``client_msg_id`` (CONTRACT: "retrying with the same client_msg_id returns the same message"); an
    error reply is recorded and not retried here, except ``rate_limited``, which waits ``retry_after_s``.
    """

    def __init__(self, client: DeleteClient, match_id: uuid.UUID, tag: str, *, interval_s: float = 0.1,
                 timeout_s: float = 5.0) -> None:
        self.client = client
        self.match_id = str(match_id)
        self.tag = tag
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.sent: list[Sent] = []

    async def send(self, item: Sent, deadline_s: float = 30.0) -> Sent:
        """Send ``item`` until it gets a reply (ok or error), re-sending unanswered attempts."""
        give_up = time.monotonic() + deadline_s
        while True:
            try:
                reply = await self.client.call("messages.send", {"match_id": self.match_id, "body": item.body,
                                                                 "client_msg_id": item.client_msg_id},
                                               timeout=self.timeout_s)
            except ClientError as exc:
                if exc.code == "rate_limited" and time.monotonic() < give_up:
                    await asyncio.sleep(float(exc.details.get("retry_after_s", 0.1)))
                    continue
                item.error, item.replied_at = exc.code, time.monotonic()
                return item
            except (Closed, TimeoutError):
                item.unanswered += 1
                if time.monotonic() > give_up:
                    return item
                await asyncio.sleep(0.05)
                continue
            item.message_id, item.error, item.replied_at = str(reply["message"]["id"]), None, time.monotonic()
            return item

    async def run(self, stop: asyncio.Event) -> None:
        n = 0
        while not stop.is_set():
            item = Sent(f"{self.tag}-{n}", f"message {n} from {self.tag}", time.monotonic())
            self.sent.append(item)
            await self.send(item)
            n += 1
            try:
                async with asyncio.timeout(self.interval_s):
                    await stop.wait()
            except TimeoutError:
                pass

    def ok_ids(self) -> set[str]:
        return {s.message_id for s in self.sent if s.message_id is not None}


async def message_rows(engine: AsyncEngine, match_id: uuid.UUID) -> list[tuple[str, str, str]]:
    """``(id, sender_id, client_msg_id)`` of every message row of a match."""
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT id, sender_id, client_msg_id FROM messages WHERE match_id = :m"),
                                   {"m": match_id})).all()
    return [(str(r[0]), str(r[1]), str(r[2])) for r in rows]


# -- health ---------------------------------------------------------------------------------------------

async def wait_health(base_url: str, status: int, within_s: float) -> tuple[int, float]:
    """GET /v1/health until it answers ``status``; return (last status, seconds taken; 0 = no answer)."""
    started = time.monotonic()
    last = 0
    async with httpx.AsyncClient(base_url=base_url, timeout=REQUEST_TIMEOUT_S) as http:
        while True:
            try:
                last = (await http.get("/v1/health")).status_code
            except httpx.HTTPError:
                last = 0
            if last == status or time.monotonic() - started > within_s:
                return last, time.monotonic() - started
            await asyncio.sleep(0.05)


@dataclass(frozen=True)
class Sample:
    at: float  # monotonic, when the request was sent
    took: float
    node: int
    status: int  # 0: no HTTP answer
    checks: dict[str, str]


class HealthWatch:
    """Samples ``/v1/health`` of every node every 100 ms in the background, to measure outage windows."""

    def __init__(self, nodes: Nodes, interval_s: float = 0.1) -> None:
        self.urls = [n.base_url for n in nodes.nodes]
        self.interval_s = interval_s
        self.samples: list[Sample] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> HealthWatch:
        self._tasks = [asyncio.create_task(self._watch(i, url)) for i, url in enumerate(self.urls)]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _watch(self, node: int, url: str) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=REQUEST_TIMEOUT_S) as http:
            while True:
                at = time.monotonic()
                try:
                    resp = await http.get("/v1/health")
                    status, checks = resp.status_code, dict(resp.json().get("checks", {}))
                except (httpx.HTTPError, ValueError):
                    status, checks = 0, {}
                self.samples.append(Sample(at, time.monotonic() - at, node, status, checks))
                await asyncio.sleep(self.interval_s)

    def first(self, node: int, status: int, after: float) -> Sample | None:
        """The first sample of ``node`` sent at or after ``after`` that answered ``status``."""
        return next((s for s in self.samples if s.node == node and s.at >= after and s.status == status), None)

    def between(self, node: int, start: float, end: float) -> list[Sample]:
        """Samples of ``node`` sent and answered within ``[start, end]``."""
        return [s for s in self.samples if s.node == node and start <= s.at and s.at + s.took <= end]


# -- small things -----------------------------------------------------------------------------------------

def raise_fd_limit(wanted: int) -> int:
    """Raise this process's open-file limit towards ``wanted`` (up to the hard limit); return the soft limit."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def seed_from_env(name: str) -> int:
    """The workload seed: ``$name`` if set, else a fresh random one (printed by the caller)."""
    value = os.environ.get(name)
    return int(value) if value else int.from_bytes(os.urandom(4), "big")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def unique(values: Iterable[str]) -> bool:
    items = list(values)
    return len(items) == len(set(items))
