"""Ranking discovery candidates (pure; CONTRACT section 3 "Discovery").

    rank = compatibility x 0.5 + completeness (0..20) + recency (10 / 7 / 4 / 0) + newness (20 / 0)

- compatibility: the 0..100 score, rounded half up as ``score_from_distance`` does;
- completeness: 2 points a photo (up to 5 photos), 2 points an answered prompt (up to 3),
  4 points for a bio that is not blank: at most 20;
- recency of activity: last active within 1 day 10, within 7 days 7, within 30 days 4, else 0;
- newness: 20 for an account created less than 7 days ago.

Ties go to the smaller user id, so a batch is deterministic. Each batch of two
or more cards keeps at least one complementary opposite (score < 50) when one is
eligible: if none of the best ``count`` is an opposite, the best-ranked opposite
takes the last place. A one-card batch is simply the best card (otherwise an app
asking for one card at a time would be shown every opposite before anyone else).

The repository computes the same rank in SQL (to pick the best rows without
loading every candidate); it builds its expression from the constants below,
and the service recomputes the rank here from the components the query returns.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

COMPATIBILITY_WEIGHT = 0.5
OPPOSITE_BELOW = 50  # a "complementary opposite" scores below this
MIN_BATCH_FOR_OPPOSITE = 2

POINTS_PER_PHOTO = 2
PHOTOS_COUNTED = 5
POINTS_PER_PROMPT = 2
PROMPTS_COUNTED = 3
BIO_POINTS = 4
BLANKS = " \t\n\r"
MAX_COMPLETENESS = POINTS_PER_PHOTO * PHOTOS_COUNTED + POINTS_PER_PROMPT * PROMPTS_COUNTED + BIO_POINTS

# (active within this many days, points), best first
RECENCY: tuple[tuple[int, int], ...] = ((1, 10), (7, 7), (30, 4))
NEW_ACCOUNT_DAYS = 7
NEW_ACCOUNT_POINTS = 20

assert MAX_COMPLETENESS == 20  # the contract caps completeness at 20


def has_bio(bio: str | None) -> bool:
    """A bio counts when it is more than blanks (spaces, tabs, line breaks)."""
    return bool(bio and bio.strip(BLANKS))


def completeness(photos: int, prompts: int, bio: bool) -> int:
    """Profile completeness, 0..20: photos, answered prompts and a bio (see ``has_bio``)."""
    points = POINTS_PER_PHOTO * min(max(photos, 0), PHOTOS_COUNTED)
    points += POINTS_PER_PROMPT * min(max(prompts, 0), PROMPTS_COUNTED)
    if bio:
        points += BIO_POINTS
    return points


def recency(last_active_at: datetime, now: datetime) -> int:
    """10 / 7 / 4 points for activity within 1 / 7 / 30 days (boundaries included), else 0."""
    idle = now - last_active_at
    for days, points in RECENCY:
        if idle <= timedelta(days=days):
            return points
    return 0


def newness(created_at: datetime, now: datetime) -> int:
    """20 points for an account newer than 7 days."""
    return NEW_ACCOUNT_POINTS if now - created_at < timedelta(days=NEW_ACCOUNT_DAYS) else 0


def rank(score: int, completeness_points: int, recency_points: int, newness_points: int) -> float:
    """The discovery rank of one candidate (a multiple of 0.5, at most 100)."""
    return score * COMPATIBILITY_WEIGHT + completeness_points + recency_points + newness_points


def is_opposite(score: int) -> bool:
    """A complementary opposite: compatibility below 50."""
    return score < OPPOSITE_BELOW


@dataclass(frozen=True, slots=True)
class Ranked:
    """A candidate with its compatibility score and rank."""

    user_id: uuid.UUID
    score: int
    rank: float


def order(candidates: Sequence[Ranked]) -> list[Ranked]:
    """Best rank first; ties by user id (as the SQL orders them)."""
    return sorted(candidates, key=lambda c: (-c.rank, c.user_id))


def choose_batch(candidates: Sequence[Ranked], count: int) -> list[Ranked]:
    """The ``count`` best, keeping at least one opposite when any candidate is one (batches of 2+).

    ``candidates`` may hold more than ``count`` (the repository adds the best
    opposite to the top rows); duplicates are ignored.
    """
    if count <= 0:
        return []
    unique = list({c.user_id: c for c in candidates}.values())
    ranked = order(unique)
    batch = ranked[:count]
    if count < MIN_BATCH_FOR_OPPOSITE or any(is_opposite(c.score) for c in batch):
        return batch
    opposite = next((c for c in ranked[count:] if is_opposite(c.score)), None)
    if opposite is None:
        return batch
    return [*batch[:-1], opposite]
