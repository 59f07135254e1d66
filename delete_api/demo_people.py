"""The demo people ``delete-api seed`` writes: who they are, generated, not stored.

Each person gets a name by gender, a city from a weighted few (Berlin, Paris,
London, New York, Lisbon, Madrid) and a location scattered around its centre,
an age and age range, mutual-ish preferences, an activity history, a bio for
most, up to three prompt answers, a photo count and quiz answers (so traits and
badges exist). A few are deliberately incomplete or moderated (no quiz, no
photo, no location, suspended, banned, deleted) so discovery's filters have
something to do.

Everything is drawn from the ``random.Random`` the caller passes, in a fixed
order: the same generator state gives the same people. Writing them (and their
photos) to the database is ``delete_api.seed``'s job.
"""

from __future__ import annotations

import math
import random
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TypeVar

from domain.compatibility.traits import TRAIT_KEYS

EMAIL_DOMAIN = "demo.delete.example"

# (name, lat, lon, weight)
CITIES: tuple[tuple[str, float, float, float], ...] = (
    ("Berlin", 52.5200, 13.4050, 1.0),
    ("Paris", 48.8566, 2.3522, 1.0),
    ("London", 51.5074, -0.1278, 1.2),
    ("New York", 40.7128, -74.0060, 1.4),
    ("Lisbon", 38.7223, -9.1393, 0.6),
    ("Madrid", 40.4168, -3.7038, 0.8),
)
CITY_SPREAD_KM = 7.0  # standard deviation of the scatter around a city centre
CITY_MAX_KM = 35.0

NAMES = {
    "woman": ("Anna", "Sofia", "Marie", "Emma", "Léa", "Chloé", "Inês", "Beatriz", "Olivia", "Amelia", "Isla",
              "Hannah", "Lena", "Mia", "Clara", "Camille", "Zoe", "Ava", "Grace", "Maya", "Nora", "Lucía",
              "Carmen", "Mariana", "Sara", "Julia", "Emily", "Ella", "Rosa", "Alba"),
    "man": ("Lukas", "Leon", "Paul", "Jonas", "Hugo", "Louis", "Gabriel", "Arthur", "Tiago", "João", "Rui",
            "Oliver", "George", "Harry", "Noah", "James", "Liam", "Ethan", "Lucas", "Mateo", "Daniel", "David",
            "Felix", "Max", "Theo", "Samuel", "Pedro", "Miguel", "Oscar", "Elias"),
    "nonbinary": ("Alex", "Sam", "Charlie", "Robin", "Jules", "Kai", "River", "Sascha", "Eden", "Noa", "Quinn",
                  "Ari", "Jamie", "Luca", "Sky"),
}
GENDERS: tuple[tuple[str, int], ...] = (("woman", 48), ("man", 47), ("nonbinary", 5))
# what each gender is interested in, with weights: mutual-ish, mostly but not only heterosexual
INTERESTS: dict[str, tuple[tuple[tuple[str, ...], int], ...]] = {
    "man": ((("woman",), 85), (("man",), 9), (("woman", "man"), 4), (("woman", "man", "nonbinary"), 2)),
    "woman": ((("man",), 83), (("woman",), 10), (("man", "woman"), 5), (("man", "woman", "nonbinary"), 2)),
    "nonbinary": ((("woman", "man", "nonbinary"), 55), (("woman", "nonbinary"), 15), (("man", "nonbinary"), 15),
                  (("nonbinary",), 15)),
}
MAX_DISTANCES = (10, 25, 25, 50, 50, 50, 80, 100, 150)
BIO_OPENERS = ("Coffee first, then adventures.", "Weekend baker, weekday engineer.", "Always planning the next trip.",
               "Dog person in a cat-heavy family.", "I run, mostly towards food.", "Teacher by day, DJ by night.",
               "Learning the guitar, slowly.", "Museum wanderer.", "Plant parent of 23.",
               "Looking for someone to share the crossword with.", "Amateur photographer, professional snacker.",
               "Trying every ramen place in town.")
BIO_CLOSERS = ("Tell me your favourite book.", "Ask me about my sourdough.", "Let's find the best view in town.",
               "Bonus points for bad puns.", "Up for a walk and a long talk.", "", "")
PROMPT_ANSWERS = ("Sunday markets and a long walk by the river.", "A picnic, a card game and no phones.",
                  "I once missed a flight because of a very good croissant.", "Someone who texts back.",
                  "Cooking for friends, badly but with love.", "The small bookshop around the corner.",
                  "Kindness to waiters.", "Learning Portuguese, one podcast at a time.",
                  "Night swims in summer.", "Mapping every bakery in the city.",
                  "A ferry ride with no plan.", "Honesty, even when it's awkward.",
                  "Pasta from scratch, it takes all afternoon.", "Live music in tiny venues.",
                  "A board game marathon.", "Sunsets from a rooftop.")


@dataclass
class Profile:
    """One generated person, ready to be written."""

    id: uuid.UUID
    email: str
    display_name: str
    city: str
    birthdate: date
    bio: str
    gender: str
    interested_in: tuple[str, ...]
    age_min: int
    age_max: int
    max_distance_km: int
    lat: float | None
    lon: float | None
    status: str
    suspended_until: datetime | None
    deleted_at: datetime | None
    last_active_at: datetime
    created_at: datetime
    answers: dict[str, int] | None
    photos: int
    prompts: list[tuple[str, str]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Active, located, with a photo and a quiz: discoverable and able to discover."""
        return self.status == "active" and self.lat is not None and self.photos > 0 and self.answers is not None



T = TypeVar("T")


def _weighted(rng: random.Random, choices: Sequence[tuple[T, int]]) -> T:
    values = [value for value, _ in choices]
    weights = [weight for _, weight in choices]
    return rng.choices(values, weights=weights)[0]


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _birthdate(rng: random.Random, age: int, today: date) -> date:
    # a day in the year in which the person is ``age``
    latest = today.replace(year=today.year - age) if not (today.month == 2 and today.day == 29) \
        else date(today.year - age, 2, 28)
    return latest - timedelta(days=rng.randint(0, 364))


def _scatter(rng: random.Random, lat: float, lon: float) -> tuple[float, float]:
    while True:
        dx, dy = rng.gauss(0, CITY_SPREAD_KM), rng.gauss(0, CITY_SPREAD_KM)
        if math.hypot(dx, dy) <= CITY_MAX_KM:
            break
    return (round(lat + dy / 111.32, 6), round(lon + dx / (111.32 * math.cos(math.radians(lat))), 6))


def _answers(rng: random.Random) -> dict[str, int]:
    # a latent "energy" nudges the answers together, so people differ in recognisable ways
    lean = rng.choice((-1, 0, 0, 1))
    out = {}
    for key in TRAIT_KEYS:
        value = rng.choices((1, 2, 3, 4, 5), weights=(15, 24, 22, 24, 15))[0] + (lean if rng.random() < 0.4 else 0)
        out[key] = min(5, max(1, value))
    return out


def generate(rng: random.Random, count: int, start: int, prompt_ids: Sequence[str], now: datetime) -> list[Profile]:
    """``count`` people, numbered from ``start`` (the number goes into the email, so it must be fresh)."""
    today = now.date()
    people = []
    city_weights = [c[3] for c in CITIES]
    for i in range(start, start + count):
        gender = str(_weighted(rng, GENDERS))
        name = rng.choice(NAMES[gender])
        city, clat, clon, _ = rng.choices(CITIES, weights=city_weights)[0]
        age = min(65, int(rng.triangular(18, 66, 27)))
        age_min = max(18, age - rng.randint(2, 8) - (4 if age > 40 else 0))
        age_max = min(99, age + rng.randint(3, 12))
        lat: float | None
        lon: float | None
        lat, lon = _scatter(rng, clat, clon)
        if rng.random() < 0.01:
            lat = lon = None  # never set a location
        roll = rng.random()
        idle = (timedelta(hours=rng.uniform(0, 24)) if roll < 0.35 else
                timedelta(days=rng.uniform(1, 7)) if roll < 0.65 else
                timedelta(days=rng.uniform(7, 30)) if roll < 0.85 else timedelta(days=rng.uniform(30, 180)))
        created = now - (timedelta(days=rng.uniform(0, 7)) if rng.random() < 0.08
                         else timedelta(days=rng.uniform(7, 720)))
        last_active = max(created, now - idle)
        status, suspended_until, deleted_at = "active", None, None
        roll = rng.random()
        if roll < 0.010:
            status = "suspended"
            suspended_until = now + timedelta(days=rng.choice((-3, -1, 2, 7, 30)))  # some already over
        elif roll < 0.015:
            status = "banned"
        elif roll < 0.025:
            status, deleted_at = "deleted", now - timedelta(days=rng.uniform(0, 60))
        bio = "" if rng.random() < 0.3 else f"{rng.choice(BIO_OPENERS)} {rng.choice(BIO_CLOSERS)}".strip()
        n_prompts = rng.choices((0, 1, 2, 3), weights=(25, 25, 25, 25))[0]
        prompts = [(pid, rng.choice(PROMPT_ANSWERS)) for pid in rng.sample(list(prompt_ids), n_prompts)]
        photos = 0 if rng.random() < 0.06 else rng.choices((1, 2, 3, 4, 5, 6), weights=(15, 25, 25, 15, 10, 10))[0]
        answers = None if rng.random() < 0.08 else _answers(rng)
        people.append(Profile(
            id=uuid.UUID(int=rng.getrandbits(128), version=4), email=f"{_ascii(name)}.{i}@{EMAIL_DOMAIN}",
            display_name=name, city=city, birthdate=_birthdate(rng, age, today), bio=bio, gender=gender,
            interested_in=_weighted(rng, INTERESTS[gender]),
            age_min=age_min, age_max=age_max, max_distance_km=rng.choice(MAX_DISTANCES), lat=lat, lon=lon,
            status=status, suspended_until=suspended_until, deleted_at=deleted_at, last_active_at=last_active,
            created_at=created, answers=answers, photos=photos, prompts=prompts))
    return people
