"""The simulated app users of ``python -m bench load``: what they do, and how they react to what arrives.

An active ``SimUser`` runs one loop, one thing at a time as a person does: open discovery and swipe
(pass most, like some, with comments while the first-likes rule asks for them), like back someone from
``likes.pending`` (which makes a match), chat in a match (``typing``, then ``messages.send``), read what
arrived (``messages.read``), list matches, page history, ``sync``, now and then lose the network (the
client resumes on the other node and syncs) or restart the app (a new client from the stored ``seq``),
and rarely report someone. Likes are paced so that nobody ever meets the daily or the 60-second rule.
Idle users only hold their socket. One moderator socket subscribes to the queue and resolves reports.

Each user reacts to the events its devices (``load_world``) receive, and samples the latency from the
command that caused the event (noted in the run's ``Recorder``, ``load_recorder``) to its arrival.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from delete_client import Closed

from bench.load_world import Device, World

DAILY_LIKES = 10  # CONTRACT section 3: at most 10 likes per UTC day
LIKES_NEEDING_COMMENT = 5  # the first five likes ever carry a comment
MIN_LIKE_INTERVAL_S = 13.0  # > 60 s / 5: never five likes in any 60 s

COMMENTS = ("Your hiking photo made me smile", "We clearly share a taste in books", "That sourdough looks amazing",
            "I also think pineapple belongs on pizza", "Your prompt answer made me laugh out loud",
            "Fellow night swimmer here, hello", "I know a bakery you would love", "Coffee or tea, tell me")
MESSAGES = ("Hey! How is your week going?", "Haha, that's a great story", "Have you been to the market on Sunday?",
            "I'm free on Thursday evening", "What are you reading at the moment?", "That sounds lovely",
            "Ok, so tell me about the croissant incident", "Good morning!", "Do you like board games?")


class SimUser:
    """One person: idle (holds the socket) or active (runs ``run``); reacts to what their devices receive."""

    def __init__(self, world: World, user_id: str, token: str, *, active: bool, likes_ever: int) -> None:
        self.world = world
        self.id = user_id
        self.token = token
        self.active = active
        self.devices: list[Device] = []
        self.matches: dict[str, str] = {}  # open match id -> partner id
        self.pending: deque[str] = deque(maxlen=100)  # people who liked me, to answer
        self.cards: deque[str] = deque(maxlen=50)  # discovery cards arrived, not yet swiped
        self.to_read: dict[str, str] = {}  # match id -> newest message id from the partner
        self.to_reply: set[str] = set()
        self.likes_ever = likes_ever
        self.likes_today = 0
        self.last_like_at = -1e9

    @property
    def primary(self) -> Device:
        return self.devices[0]

    # -- events --------------------------------------------------------------------------------------
    def on_event(self, device: Device, frame: dict[str, Any], now: int, replay: bool) -> None:
        """React to what a device received, and sample the latency from the command that caused it."""
        kind = str(frame.get("type"))
        react = _REACTIONS.get(kind)
        cause, label = react(self, device, frame.get("data") or {}) if react is not None else (None, kind)
        if cause is not None and not replay:
            self.world.rec.sample(label, cause, now)

    # each reaction returns when the command that caused the event left (None: unknown) and the sample's label
    def _message_created(self, device: Device, data: dict[str, Any]) -> tuple[int | None, str]:
        message = data["message"]
        cause = self.world.rec.sent.get(("M", message["client_msg_id"]))
        if message["sender_id"] == self.id:
            return cause, "message.created (own devices)"
        if device.primary and self.active:
            self.to_read[message["match_id"]] = message["id"]
            if self.world.rng.random() < 0.5:
                self.to_reply.add(message["match_id"])
        return cause, "message.created"

    def _match_created(self, device: Device, data: dict[str, Any]) -> tuple[int | None, str]:
        match = data["match"]
        other = match["user"]["user_id"]
        self.matches[match["id"]] = other
        sent = self.world.rec.sent
        causes = [t for t in (sent.get(("L", self.id, other)), sent.get(("L", other, self.id))) if t is not None]
        return (max(causes) if causes else None), "match.created"

    def _like_received(self, device: Device, data: dict[str, Any]) -> tuple[int | None, str]:
        liker = data["from"]["user_id"]
        if device.primary and self.active:
            self.pending.append(liker)
        return self.world.rec.sent.get(("L", liker, self.id)), "like.received"

    def _message_read(self, device: Device, data: dict[str, Any]) -> tuple[int | None, str]:
        return self.world.rec.sent.get(("R", data["match_id"], data["up_to"])), "message.read"

    def _typing(self, device: Device, data: dict[str, Any]) -> tuple[int | None, str]:
        return self.world.rec.sent.get(("T", data["match_id"], data["user_id"])), "typing"

    def _warning(self, device: Device, data: dict[str, Any]) -> tuple[int | None, str]:
        return self.world.rec.sent.get(("W", self.id)), "moderation.warning"

    def _discovery_card(self, device: Device, data: dict[str, Any]) -> tuple[int | None, str]:
        if device.primary:
            self.cards.append(data["card"]["user_id"])
        return self.world.rec.sent.get(("D", self.id)), "discovery.card"

    def _match_updated(self, device: Device, data: dict[str, Any]) -> tuple[int | None, str]:
        if data.get("state") not in ("active", "dating"):
            self.matches.pop(data["match_id"], None)
        return None, "match.updated"

    # -- the active loop -------------------------------------------------------------------------------
    async def think(self, low: float, high: float) -> None:
        await asyncio.sleep(self.world.rng.uniform(low, high))

    def may_like(self) -> bool:
        now = time.monotonic()
        return self.likes_today < DAILY_LIKES and now - self.last_like_at >= self.world.like_interval_s

    async def like(self, target: str) -> bool:
        """Like ``target`` within the rules: a unique comment while the first-likes rule asks for one."""
        world = self.world
        data: dict[str, Any] = {"user_id": target}
        if self.likes_ever < LIKES_NEEDING_COMMENT or world.rng.random() < 0.5:
            data["comment"] = f"{world.rng.choice(COMMENTS)} (#{next(world.comment_counter)})"
        self.last_like_at = time.monotonic()
        world.rec.caused(("L", self.id, target))
        reply = await world.call(self.primary, "like", data)
        if reply is None:
            return False
        self.likes_ever += 1
        self.likes_today = DAILY_LIKES - int(reply["likes_left_today"])
        match = reply.get("match")
        if match is not None:
            self.matches[match["id"]] = target
        return True

    async def swipe(self) -> None:
        world = self.world
        self.cards.clear()
        world.rec.caused(("D", self.id))
        reply = await world.call(self.primary, "discovery.request", {"count": 10})
        if reply is None:
            return
        cards = list(self.cards)
        self.cards.clear()
        for target in cards:
            if not world.running:
                return
            await self.think(1.0, 3.5)
            now = time.monotonic()
            if now >= world.next_report_at:
                world.next_report_at = now + world.rng.expovariate(1 / world.report_every_s)
                world.rec.caused(("P", self.id, target))
                await world.call(self.primary, "report", {"user_id": target, "reason": "fake_profile",
                                                          "details": "load test: photos look like stock images"})
            elif self.may_like() and world.rng.random() < 0.3:
                await self.like(target)
                continue
            else:
                await world.call(self.primary, "pass", {"user_id": target})
            self.forget_like_from(target)  # reported (which blocks) or passed: the app no longer offers them

    def forget_like_from(self, user_id: str) -> None:
        while user_id in self.pending:
            self.pending.remove(user_id)

    async def answer_likes(self) -> None:
        world = self.world
        if not self.pending:
            reply = await world.call(self.primary, "likes.pending")
            if reply is None:
                return
            self.pending.extend(item["from"]["user_id"] for item in reply["likes"])
        while self.pending and self.may_like() and world.running:
            liker = self.pending.popleft()
            if liker in self.matches.values():
                continue
            await self.think(0.5, 2.0)
            await self.like(liker)
            break

    async def chat(self, match_id: str | None = None) -> None:
        world = self.world
        if match_id is None:
            if not self.matches:
                return
            match_id = world.rng.choice(list(self.matches))
            if world.rng.random() < 0.2:
                await world.call(self.primary, "messages.history", {"match_id": match_id, "limit": 20})
        world.rec.caused(("T", match_id, self.id))
        await world.call(self.primary, "typing", {"match_id": match_id})
        await self.think(1.0, 4.0)
        client_msg_id = f"{self.id[:8]}-{next(world.message_counter)}"
        world.rec.caused(("M", client_msg_id))
        await world.call(self.primary, "messages.send", {"match_id": match_id, "body": world.rng.choice(MESSAGES),
                                                         "client_msg_id": client_msg_id})

    async def read(self) -> None:
        world = self.world
        while self.to_read and world.running:
            match_id, message_id = self.to_read.popitem()
            await self.think(0.3, 1.5)
            world.rec.caused(("R", match_id, message_id))
            await world.call(self.primary, "messages.read", {"match_id": match_id, "up_to": message_id})
            if match_id in self.to_reply and match_id in self.matches:
                self.to_reply.discard(match_id)
                await self.chat(match_id)

    async def sync(self) -> None:
        device = self.primary
        client = device.client
        if client is None:
            return
        client.syncing += 1
        try:
            await self.world.call(device, "sync", {"after": client.last_seq})
        finally:
            client.syncing -= 1

    async def restart_app(self) -> None:
        """Close the app and open it again later: a new client resumes from the stored seq (0 too)."""
        device = self.primary
        stored = device.last_seq
        await device.close()
        device.restarts += 1
        await self.think(0.5, 3.0)
        try:
            await device.connect(self.world.urls, last_seq=stored)
        except (Closed, OSError, TimeoutError) as exc:
            self.world.rec.errors[f"restart: {type(exc).__name__}"] += 1
            await asyncio.sleep(2)
            await device.connect(self.world.urls, last_seq=stored)

    async def run(self, ramp_s: float) -> None:
        """The active loop, until the world stops; never raises (errors are counted)."""
        world = self.world
        await asyncio.sleep(world.rng.uniform(0, ramp_s))
        due = Disruptions(time.monotonic() + world.rng.expovariate(1 / world.drop_every_s),
                          time.monotonic() + world.rng.expovariate(1 / world.restart_every_s))
        try:
            reply = await world.call(self.primary, "matches.list", {"limit": 50})
            if reply is not None:
                self.matches.update({m["id"]: m["user"]["user_id"] for m in reply["matches"]})
            while world.running:
                if await self.disrupt(due):
                    continue
                if self.to_read:
                    await self.read()
                await self.act(world.rng.random())
                await self.think(1.0, 3.0)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            world.rec.errors[f"user loop: {type(exc).__name__}: {str(exc)[:80]}"] += 1

    async def disrupt(self, due: Disruptions) -> bool:
        """Restart the app or lose the network when its time has come; True after a restart."""
        world = self.world
        now = time.monotonic()
        if now >= due.restart:
            due.restart = now + world.rng.expovariate(1 / world.restart_every_s)
            await self.restart_app()
            return True
        if now >= due.drop:
            due.drop = now + world.rng.expovariate(1 / world.drop_every_s)
            self.primary.drops += 1
            if self.primary.client is not None:
                self.primary.client.drop()
        return False

    async def act(self, roll: float) -> None:
        """One thing a person does, chosen by ``roll`` (0..1): swipe, chat, answer likes, list, sync or ping."""
        world = self.world
        if roll < 0.40:
            await self.swipe()
        elif roll < 0.75:
            await self.chat()
        elif roll < 0.85:
            await self.answer_likes()
        elif roll < 0.90:
            await world.call(self.primary, "matches.list", {"limit": 20})
        elif roll < 0.95:
            await self.sync()
        else:
            await world.call(self.primary, "ping")


@dataclass
class Disruptions:
    """When an active user next loses the network and next restarts the app (``time.monotonic()``)."""

    drop: float
    restart: float


Reaction = Callable[[SimUser, Device, dict[str, Any]], tuple[int | None, str]]
_REACTIONS: dict[str, Reaction] = {
    "message.created": SimUser._message_created, "match.created": SimUser._match_created,
    "like.received": SimUser._like_received, "message.read": SimUser._message_read, "typing": SimUser._typing,
    "moderation.warning": SimUser._warning, "discovery.card": SimUser._discovery_card,
    "match.updated": SimUser._match_updated,
}


class Moderator(SimUser):
    """One moderator socket: subscribes to the queue, and resolves each new report a few seconds later."""

    def __init__(self, world: World, user_id: str, token: str) -> None:
        super().__init__(world, user_id, token, active=False, likes_ever=0)
        self.devices.append(Device(self, 0, True))
        self.queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self.resolved = 0

    def on_event(self, device: Device, frame: dict[str, Any], now: int, replay: bool) -> None:
        if frame.get("type") == "moderation.report":
            report = frame["data"]["report"]
            cause = self.world.rec.sent.get(("P", report["reporter_id"], report["reported_id"]))
            if cause is not None:
                self.world.rec.sample("moderation.report", cause, now)
            self.queue.put_nowait((report["id"], report["reported_id"]))

    async def moderate(self) -> None:
        """Subscribe, then dismiss (or, three times in ten, warn) each report one to three seconds later."""
        world = self.world
        await world.call(self.primary, "moderation.subscribe")
        while True:
            report_id, reported = await self.queue.get()
            await asyncio.sleep(world.rng.uniform(1.0, 3.0))
            action = "warn" if world.rng.random() < 0.3 else "dismiss"
            if action == "warn":
                world.rec.caused(("W", reported))
            if await world.call(self.primary, "moderation.resolve", {
                    "report_id": report_id, "action": action, "note": "load test decision"}) is not None:
                self.resolved += 1
