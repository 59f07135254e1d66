"""Location privacy against the trilateration attack (CONTRACT section 3 "Location privacy", issue 19).

Before cells, Eve placed a victim to within a few metres in about 40 probes, through
discovery and through ``matches.list`` (measured on the code before cells with this
same attack: 2.5 m mean error through discovery, 0.4 m at best through matches).
Now every distance is measured between ~1 km grid cells, and the tests assert:

- two people in one cell, 250 m or more apart, look the same in every probe: nothing
  finer than the cell reaches Eve;
- her estimates are on average at least ``FLOOR_KM`` off. A point uniformly placed in
  a square of side s lies on average 0.383 s from the square's centre, so even an
  attacker who learnt the exact cell and guessed its centre would be ~0.38 km off on
  average: no attack can be asked for "half a cell" (0.5 km) on average. This
  attack's mean error measured 0.43-1.31 km over ten runs of eight victims (half a
  cell or more in eight of them); 0.3 km is the floor the cell guarantees, with room
  for the spread of a dozen victims.
"""

from __future__ import annotations

import logging
import math
import random
import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.location.grid import CELL_KM, cell_of
from tests.discovery.support import Place, candidate_at, somewhere, viewer_at
from tests.location.trilateration import (
    Attack,
    discovery_reading,
    located_error_km,
    matches_reading,
    summary,
    to_place,
)
from tests.support.factory import Person, make_match
from tests.support.server import RunningServer

log = logging.getLogger(__name__)

VICTIMS = 12
SPREAD_KM = 3.0
FLOOR_KM = 0.3 * CELL_KM


def _spread(origin: Place, rng: random.Random) -> Place:
    """A uniformly random place within SPREAD_KM of ``origin``."""
    radius, angle = SPREAD_KM * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
    return to_place(origin, (radius * math.cos(angle), radius * math.sin(angle)))


def _twin(place: Place, rng: random.Random) -> Place:
    """Another place in the same cell, at least 250 m away."""
    while True:
        other = (place[0] + rng.uniform(-0.009, 0.009), place[1] + rng.uniform(-0.015, 0.015))
        km = math.hypot((other[0] - place[0]) * 111.195,
                        (other[1] - place[1]) * 111.195 * math.cos(math.radians(place[0])))
        if cell_of(*other) == cell_of(*place) and km >= 0.25:
            return other


async def _victims(engine: AsyncEngine, origin: Place, rng: random.Random) -> dict[uuid.UUID, Place]:
    victims = {}
    for i in range(VICTIMS):
        place = _spread(origin, rng)
        person = await candidate_at(engine, origin, name=f"Victim{i}", location=place)
        victims[person.id] = place
    return victims


async def test_discovery_cannot_place_anyone_within_their_cell(server: RunningServer, engine: AsyncEngine) -> None:
    """Trilateration through discovery cards: on average at least half a cell off, twins indistinguishable."""
    rng = random.Random()
    origin = somewhere()
    victims = await _victims(engine, origin, rng)
    first = next(iter(victims.values()))
    twin = await candidate_at(engine, origin, name="Twin", location=_twin(first, rng))
    eve = await viewer_at(engine, origin, name="Eve")
    attack = Attack(server, engine, eve, origin, discovery_reading())
    errors = await located_error_km(attack, victims)
    log.warning("trilateration through discovery: %s", summary(errors, attack))
    assert len(errors) >= VICTIMS // 2, "the attack should at least produce estimates"
    assert sum(errors) / len(errors) >= FLOOR_KM, summary(errors, attack)
    first_id = str(next(iter(victims)))
    assert all(seen[first_id] == seen[twin.key] for seen in attack.seen.values())
    assert attack.waited_s > 3600, "the attack had to wait out the hourly limit"


async def test_matches_list_cannot_place_a_partner_within_their_cell(server: RunningServer,
                                                                     engine: AsyncEngine) -> None:
    """Trilateration through active matches' cards fares no better; unmatched partners carry no distance."""
    rng = random.Random()
    origin = somewhere()
    eve = await viewer_at(engine, origin, name="Eve")
    victims = await _victims(engine, origin, rng)
    for victim_id in victims:
        await make_match(engine, eve, Person(victim_id, "", ""))
    attack = Attack(server, engine, eve, origin, matches_reading)
    errors = await located_error_km(attack, victims)
    log.warning("trilateration through matches.list: %s", summary(errors, attack))
    assert len(errors) >= VICTIMS // 2
    assert sum(errors) / len(errors) >= FLOOR_KM, summary(errors, attack)

    async with engine.begin() as conn:
        await conn.execute(text("UPDATE matches SET state = 'unmatched' WHERE user_a = :eve OR user_b = :eve"),
                           {"eve": eve.id})
    attack.seen.clear()
    assert set((await attack.observe((0.5, 0.5))).values()) == {None}
