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

from delete_client import ClientError, DeleteClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.invariants.plan import Action
from tests.support.factory import Person
from tests.support.server import RunningServer
from tests.support.simulated_users import TappedClient, attempt, wait_caught_up

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


class RecordingClient(TappedClient):
    """A ``DeleteClient`` that also keeps every frame it receives, in arrival order, with the time."""

    def __init__(self, url: str, token: str) -> None:
        super().__init__(url, token, event_queue=EVENT_QUEUE)
        self.frames: list[Frame] = []

    def on_frame(self, message: str | bytes, at_ns: int) -> None:
        try:
            frame = json.loads(message)
        except ValueError:
            frame = None
        if isinstance(frame, dict):
            self.frames.append(Frame(at_ns / 1e9, frame))  # the seconds of time.monotonic(), as Call.sent


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
        if action.kind == "discovery.device":
            await self.second_device(member, action)
            return
        planned = self.plan_command(member, action)
        if planned is None:
            self.skipped[action.kind] += 1
            return
        data, target = planned
        call = await self.command(member, member.socket, action.kind, data, target)
        if call.reply is not None:
            self.remember(member, call)

    async def second_device(self, member: Member, action: Action) -> None:
        """A new device of the person, on the other node: one discovery request, then it closes."""
        node = 1 - member.node
        client = RecordingClient(self.url(node), member.person.token)
        async with client:
            device = Socket(member.index, node, client, "device")
            self.sockets.append(device)
            await self.command(member, device, "discovery.request", {"count": action.count}, action.target)

    def plan_command(self, member: Member, action: Action) -> tuple[dict[str, Any], int] | None:
        """The command's data and its target (a command on a match may pick another partner); None when the
        person has no match to act on."""
        kind, target = action.kind, action.target
        other = str(self.members[target].person.id) if target >= 0 else ""
        if kind == "like":
            return ({"user_id": other} if action.comment is None
                    else {"user_id": other, "comment": action.comment}), target
        if kind in ("pass", "pass.undo", "block"):
            return {"user_id": other}, target
        if kind == "report":
            data: dict[str, Any] = {"user_id": other, "reason": action.reason}
            if action.details is not None:
                data["details"] = action.details
            return data, target
        if kind == "discovery.request":
            return {"count": action.count}, target
        return self.plan_match_command(member, action)

    def plan_match_command(self, member: Member, action: Action) -> tuple[dict[str, Any], int] | None:
        """A command on a match: with the planned partner, else with someone the person did match."""
        kind, target = action.kind, action.target
        match_id = self.match_with(member, target)
        if match_id is None and member.matches:
            known = sorted(member.matches)
            target = known[target % len(known)]
            match_id = member.matches[target]
        if match_id is None:
            return None
        data: dict[str, Any] = {"match_id": match_id}
        if kind == "match.unmatch":
            data["reason"] = action.reason
        elif kind == "messages.send":
            previous = member.last_message.get(target) if action.retry else None
            cmid, body = (previous[0], previous[1]) if previous else (uuid.uuid4().hex, action.body)
            data.update(body=body, client_msg_id=cmid)
        return data, target

    def remember(self, member: Member, call: Call) -> None:
        """What the person learns from a reply: the match a like made, the message a send stored (a retry of
        the same ``client_msg_id`` must get the same message back)."""
        assert call.reply is not None
        target, data = call.target, call.data
        if call.kind == "like" and call.reply["match"] is not None:
            member.matches[target] = call.reply["match"]["id"]
        if call.kind == "messages.send":
            message = call.reply["message"]
            previous = member.last_message.get(target)
            if previous is not None and previous[0] == data["client_msg_id"] and previous[2] != message["id"]:
                self.problems.append(f"{self.who(member.index)} retried client_msg_id {data['client_msg_id']} "
                                     f"and got message {message['id']} instead of {previous[2]}")
            member.last_message[target] = (data["client_msg_id"], data["body"], message["id"])

    async def command(self, member: Member, socket: Socket, kind: str, data: dict[str, Any], target: int) -> Call:
        call = Call(member.index, kind, target, data, socket, len(socket.client.frames), time.monotonic())
        outcome = await attempt(socket.client, kind, data, CALL_TIMEOUT_S)
        call.reply, call.code = outcome.reply, outcome.code
        where = f"{kind} {data} by {self.who(member.index)} on node {NODE_NAMES[socket.node]}"
        if isinstance(outcome.error, ClientError):
            if outcome.error.code not in ALLOWED[kind]:
                self.problems.append(f"{where} -> {outcome.error.code}: {outcome.error.message} "
                                     f"{outcome.error.details}")
        elif outcome.error is not None:
            self.problems.append(f"{where} got no reply: {outcome.error!r}")
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
        await wait_caught_up(engine, lambda: [(m.person.id, m.socket.client.last_seq) for m in self.members],
                             timeout_s=SETTLE_S, poll_s=0.05)

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
