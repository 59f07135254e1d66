"""The trilateration attack of issue 19, as an outside attacker runs it over the real socket.

Eve never interacted with her victims. For each probe she moves herself with
``me.update {"location"}``, opens a fresh socket (discovery paging starts over, and
a fresh socket has a fresh command bucket) and reads ``distance_km`` on the
victims' cards, from ``discovery.request`` or from ``matches.list``. She walks
three bearings from her start, finds by binary search the point on each where a
victim's shown distance flips from ``d`` to ``d + 1`` (the true distance there is
``d + 0.5`` when distances are rounded from exact points), and intersects the
three circles (least squares over a grid, then refined).

She keeps within the location limits as a patient attacker would: when a move is
refused with ``rate_limited`` she waits ``retry_after_s`` — simulated by moving
her stored change times that far into the past, which is what waiting does to
them — and tries again. ``Attack.waited_s`` says how long the attack took.
"""

from __future__ import annotations

import math
import statistics
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from delete_client import ClientError, DeleteClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.discovery.support import Place, request
from tests.support.factory import Person
from tests.support.server import RunningServer

KM_PER_DEG = 111.195
BEARINGS_DEG = (0.0, 120.0, 240.0)
WALK_STEP_KM = 0.5
WALK_MAX_KM = 4.0
PRECISION_KM = 0.001

Point = tuple[float, float]  # local plane, km east and north of the start
Reading = Callable[[DeleteClient], Awaitable[dict[str, int | None]]]

_PASS_TIME = text("UPDATE users SET location_moves = ARRAY(SELECT m - make_interval(secs => :seconds) "
                  "FROM unnest(location_moves) AS m) WHERE id = :id")


def to_place(origin: Place, point: Point) -> Place:
    """The (lat, lon) of a local point (equirectangular: exact to well under a metre within 10 km)."""
    return (origin[0] + point[1] / KM_PER_DEG,
            origin[1] + point[0] / (KM_PER_DEG * math.cos(math.radians(origin[0]))))


def to_point(origin: Place, place: Place) -> Point:
    return ((place[1] - origin[1]) * KM_PER_DEG * math.cos(math.radians(origin[0])),
            (place[0] - origin[0]) * KM_PER_DEG)


def discovery_reading(count: int = 20) -> Reading:
    """``user_id -> distance_km`` of every card one ``discovery.request`` shows."""
    async def read(client: DeleteClient) -> dict[str, int | None]:
        return {card["user_id"]: card["distance_km"] for card in (await request(client, count)).cards}
    return read


async def matches_reading(client: DeleteClient) -> dict[str, int | None]:
    """``user_id -> distance_km`` of every match's card in ``matches.list`` (every state)."""
    reply = await client.call("matches.list", {"limit": 50, "states": [
        "active", "dating", "archived", "unmatched"]})
    return {m["user"]["user_id"]: m["user"]["distance_km"] for m in reply["matches"]}


@dataclass
class Attack:
    """Eve, her start, and what her probes have shown so far (cached per probe point)."""

    server: RunningServer
    engine: AsyncEngine
    eve: Person
    origin: Place
    read: Reading
    probes: int = 0
    waited_s: float = 0.0
    seen: dict[Point, dict[str, int | None]] = field(default_factory=dict)

    async def _wait(self, seconds: float) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(_PASS_TIME, {"seconds": seconds, "id": self.eve.id})
        self.waited_s += seconds

    async def _move(self, client: DeleteClient, place: Place) -> None:
        location = {"lat": place[0], "lon": place[1]}
        for _ in range(5):
            try:
                await client.call("me.update", {"location": location})
                return
            except ClientError as exc:
                if exc.code != "rate_limited" or "location" not in exc.message:
                    raise
                await self._wait(float(exc.details["retry_after_s"]))
        raise AssertionError("the location limits never let Eve move")

    async def observe(self, point: Point) -> dict[str, int | None]:
        """Move Eve to ``point`` and read every victim's distance (one probe; cached)."""
        if point not in self.seen:
            async with DeleteClient(self.server.ws_url + "/v1/ws", self.eve.token) as client:
                await self._move(client, to_place(self.origin, point))
                self.seen[point] = await self.read(client)
            self.probes += 1
        return self.seen[point]

    async def distance(self, point: Point, victim: str) -> int | None:
        return (await self.observe(point)).get(victim)

    async def _flip(self, victim: str, bearing_deg: float) -> tuple[Point, float] | None:
        """The point along a bearing where the victim's distance first changes, and the distance there."""
        dx, dy = math.sin(math.radians(bearing_deg)), math.cos(math.radians(bearing_deg))
        first = await self.distance((0.0, 0.0), victim)
        low, high = 0.0, WALK_STEP_KM
        while await self.distance((round(dx * high, 6), round(dy * high, 6)), victim) == first:
            low, high = high, high + WALK_STEP_KM
            if high > WALK_MAX_KM:
                return None
        other = await self.distance((round(dx * high, 6), round(dy * high, 6)), victim)
        while high - low > PRECISION_KM:
            middle = (low + high) / 2
            value = await self.distance((dx * middle, dy * middle), victim)
            low, high = (middle, high) if value == first else (low, middle)
            other = other if value == first else value
        if first is None or other is None:
            return None
        return (dx * high, dy * high), min(first, other) + 0.5

    async def locate(self, victim: str) -> Place | None:
        """Eve's best estimate of the victim's location, or None when the cards never gave a distance."""
        circles = [c for c in [await self._flip(victim, b) for b in BEARINGS_DEG] if c is not None]
        if len(circles) < 2:
            return None
        return to_place(self.origin, intersect(circles))


def _misfit(circles: list[tuple[Point, float]], x: float, y: float) -> float:
    return sum((math.hypot(x - cx, y - cy) - r) ** 2 for (cx, cy), r in circles)


def intersect(circles: list[tuple[Point, float]]) -> Point:
    """The point whose distances to the centres best fit the radii: a 50 m grid search, then finer ones."""
    best, step, span = (0.0, 0.0), 0.05, 6.0
    while step >= 0.0005:
        cells = int(span / step)
        candidates = ((best[0] + i * step, best[1] + j * step)
                      for i in range(-cells, cells + 1) for j in range(-cells, cells + 1))
        best = min(candidates, key=lambda p: _misfit(circles, *p))
        span, step = step * 2, step / 5
    return best


async def located_error_km(attack: Attack, victims: dict[uuid.UUID, Place]) -> list[float]:
    """How far Eve's estimate of each victim is from the truth, in km (victims she cannot place are left out)."""
    errors = []
    for victim_id, truth in victims.items():
        estimate = await attack.locate(str(victim_id))
        if estimate is not None:
            errors.append(_km(estimate, truth))
    return errors


def _km(a: Place, b: Place) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def summary(errors: list[float], attack: Attack) -> dict[str, Any]:
    return {"victims": len(errors), "mean_error_m": round(1000 * sum(errors) / len(errors), 1),
            "median_error_m": round(1000 * statistics.median(errors), 1),
            "min_error_m": round(1000 * min(errors), 1), "probes": attack.probes,
            "waited": str(timedelta(seconds=round(attack.waited_s)))}
