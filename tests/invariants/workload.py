"""Running the plan over two nodes, and recording what every socket saw and when.

Every person has one main socket (``DeleteClient`` on node A or B) for the whole run and
does one thing at a time, so on each socket at most one command is in flight and the first
reply after a command's start is its reply. ``RecordingClient`` keeps every frame a socket
receives with its arrival time; each command is recorded as a ``Call`` (sent, reply received,
reply or error code). ``discovery.device`` opens a second socket (a new device, on the other
node), asks for 20 cards and closes it: a new socket pages through everyone again, so people
blocked or passed earlier are put to the test.

Times are ``time.monotonic()`` of this process. The servers run in it too, so "the block's reply
had arrived before the discovery request was sent" is an observed order, not an estimate.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from realtime.client import ClientError, Closed, DeleteClient
from tests.invariants.plan import Action
from tests.support.factory import Person
from tests.support.server import RunningServer

CALL_TIMEOUT_S = 10.0
BATCH_TIMEOUT_S = 30.0
EVENT_QUEUE = 100_000
SETTLE_S = 10.0
# error codes the product rules allow for each command in this workload; anything else is a failure
ALLOWED: dict[str, frozenset[str]] = {
    "like": frozenset({"not_found", "conflict", "daily_limit_reached", "rate_limited", "comment_required",
                       "spam_detected"}),
    "pass": frozenset({"not_found", "conflict"}),
    "pass.undo": frozenset({"not_found", "rate_limited"}),
    "block": frozenset(),
    "report": frozenset(),
    "match.unmatch": frozenset({"conflict"}),
    "match.dating": frozenset({"conflict"}),
    "messages.send": frozenset({"conflict"}),
    "discovery.request": frozenset(),
}
NODE_NAMES = "AB"


@dataclass(frozen=True)
class Frame:
    """One frame a socket received, decoded, with its arrival time."""

    at: float
    data: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.data.get("type"))


class RecordingClient(DeleteClient):
    """A ``DeleteClient`` that also keeps every frame it receives, in arrival order, with the time."""

    def __init__(self, url: str, token: str) -> None:
        super().__init__(url, token, event_queue=EVENT_QUEUE)
        self.frames: list[Frame] = []

    def _route(self, message: str | bytes) -> Closed | None:
        try:
            frame = json.loads(message)
        except ValueError:
            frame = None
        if isinstance(frame, dict):
            self.frames.append(Frame(time.monotonic(), frame))
        return super()._route(message)


@dataclass(eq=False)
class Socket:
    """One socket of a person: ``main`` for the whole run, or a short-lived discovery ``device``."""

    owner: int
    node: int
    client: RecordingClient
    role: str


@dataclass(eq=False)
class Call:
    """One command and its outcome (``reply`` on success, else the error ``code``)."""

    actor: int
    kind: str
    target: int
    data: dict[str, Any]
    socket: Socket
    first_frame: int  # frames of the socket before the command was sent
    sent: float
    done: float = 0.0
    reply: dict[str, Any] | None = None
    code: str | None = None

    @property
    def ok(self) -> bool:
        return self.reply is not None


@dataclass(eq=False)
class Member:
    """A person of the run and what they know (their matches, their last message to each partner)."""

    index: int
    person: Person
    node: int
    main: Socket | None = None
    matches: dict[int, str] = field(default_factory=dict)  # partner -> match id
    scanned: int = 0  # frames of the main socket already searched for match.created
    last_message: dict[int, tuple[str, str, str]] = field(default_factory=dict)  # partner -> cmid, body, id

    @property
    def socket(self) -> Socket:
        assert self.main is not None
        return self.main


class Workload:
    """The people, their sockets and every command of the run."""

    def __init__(self, nodes: list[RunningServer], members: list[Member]) -> None:
        self.nodes = nodes
        self.members = members
        self.by_id = {str(m.person.id): m.index for m in members}
        self.calls: list[Call] = []
        self.sockets: list[Socket] = []
        self.problems: list[str] = []
        self.skipped: Counter[str] = Counter()
        self.t0 = time.monotonic()

    def url(self, node: int) -> str:
        return self.nodes[node].ws_url + "/v1/ws"

    def ms(self, t: float) -> str:
        """A time of the run as milliseconds since its start (for reports)."""
        return f"t+{(t - self.t0) * 1000:.0f}ms"

    def who(self, index: int) -> str:
        member = self.members[index]
        return f"p{index}({str(member.person.id)[:8]}, node {NODE_NAMES[member.node]})"

    async def connect(self, member: Member) -> Socket:
        client = RecordingClient(self.url(member.node), member.person.token)
        await client.connect()
        member.main = Socket(member.index, member.node, client, "main")
        self.sockets.append(member.main)
        return member.main

    async def run(self, plan: list[list[Action]]) -> None:
        self.t0 = time.monotonic()
        for batch in plan:
            async with asyncio.timeout(BATCH_TIMEOUT_S):
                await asyncio.gather(*(self.perform(action) for action in batch))

    async def perform(self, action: Action) -> None:
        member = self.members[action.actor]
        kind, target = action.kind, action.target
        other = str(self.members[target].person.id) if target >= 0 else ""
        if kind == "discovery.device":
            node = 1 - member.node  # the other node: a second device of the same person
            client = RecordingClient(self.url(node), member.person.token)
            async with client:
                device = Socket(member.index, node, client, "device")
                self.sockets.append(device)
                await self.command(member, device, "discovery.request", {"count": action.count}, target)
            return
        data: dict[str, Any]
        if kind == "like":
            data = {"user_id": other} if action.comment is None else {"user_id": other, "comment": action.comment}
        elif kind in ("pass", "pass.undo", "block"):
            data = {"user_id": other}
        elif kind == "report":
            data = {"user_id": other, "reason": action.reason}
            if action.details is not None:
                data["details"] = action.details
        elif kind == "discovery.request":
            data = {"count": action.count}
        else:  # the commands on a match: with the planned partner, else with someone the person did match
            match_id = self.match_with(member, target)
            if match_id is None and member.matches:
                known = sorted(member.matches)
                target = known[target % len(known)]
                match_id = member.matches[target]
            if match_id is None:
                self.skipped[kind] += 1
                return
            data = {"match_id": match_id}
            if kind == "match.unmatch":
                data["reason"] = action.reason
            elif kind == "messages.send":
                previous = member.last_message.get(target) if action.retry else None
                cmid, body = (previous[0], previous[1]) if previous else (uuid.uuid4().hex, action.body)
                data.update(body=body, client_msg_id=cmid)
        call = await self.command(member, member.socket, kind, data, target)
        if call.reply is None:
            return
        if kind == "like" and call.reply["match"] is not None:
            member.matches[target] = call.reply["match"]["id"]
        if kind == "messages.send":
            message = call.reply["message"]
            previous = member.last_message.get(target)
            if previous is not None and previous[0] == data["client_msg_id"] and previous[2] != message["id"]:
                self.problems.append(f"{self.who(member.index)} retried client_msg_id {data['client_msg_id']} "
                                     f"and got message {message['id']} instead of {previous[2]}")
            member.last_message[target] = (data["client_msg_id"], data["body"], message["id"])

    async def command(self, member: Member, socket: Socket, kind: str, data: dict[str, Any], target: int) -> Call:
        call = Call(member.index, kind, target, data, socket, len(socket.client.frames), time.monotonic())
        try:
            call.reply = await socket.client.call(kind, data, timeout=CALL_TIMEOUT_S)
        except ClientError as exc:
            call.code = exc.code
            if exc.code not in ALLOWED[kind]:
                self.problems.append(f"{kind} {data} by {self.who(member.index)} on node {NODE_NAMES[socket.node]} "
                                     f"-> {exc.code}: {exc.message} {exc.details}")
        except (Closed, TimeoutError) as exc:
            call.code = type(exc).__name__
            self.problems.append(f"{kind} {data} by {self.who(member.index)} on node {NODE_NAMES[socket.node]} "
                                 f"got no reply: {exc!r}")
        call.done = time.monotonic()
        self.calls.append(call)
        return call

    def match_with(self, member: Member, partner: int) -> str | None:
        """The person's match with ``partner``, as far as their like replies and match.created events tell."""
        frames = member.socket.client.frames
        for frame in frames[member.scanned:]:
            if frame.type == "match.created":
                match = frame.data["data"]["match"]
                other = self.by_id.get(match["user"]["user_id"])
                if other is not None:
                    member.matches[other] = match["id"]
        member.scanned = len(frames)
        return member.matches.get(partner)

    async def settle(self, engine: AsyncEngine) -> None:
        """Wait (bounded) until every main socket has every stored event; the checks report what is missing."""
        ids = [m.person.id for m in self.members]
        deadline = time.monotonic() + SETTLE_S
        while time.monotonic() < deadline:
            async with engine.connect() as conn:
                rows = (await conn.execute(text(
                    "SELECT user_id, last_seq FROM user_event_counters WHERE user_id = ANY(:ids)"), {"ids": ids})).all()
            stored = {row[0]: int(row[1]) for row in rows}
            if all(m.socket.client.last_seq >= stored.get(m.person.id, 0) for m in self.members):
                return
            await asyncio.sleep(0.05)

    def outcomes(self) -> dict[str, Counter[str]]:
        """Per command, how many calls ended how (``ok`` or the error code)."""
        out: dict[str, Counter[str]] = {}
        for call in self.calls:
            key = call.kind if call.socket.role == "main" else "discovery.device"
            out.setdefault(key, Counter())["ok" if call.ok else str(call.code)] += 1
        return out


async def drain(client: DeleteClient) -> list[dict[str, Any]]:
    """The events the client has queued (durable ones deduped by ``seq`` by the client itself)."""
    events = []
    while True:
        try:
            events.append(await client.next_event(timeout=0.01))
        except TimeoutError:
            return events
