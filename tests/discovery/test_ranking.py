"""The pure ranking rules: completeness, recency, newness, the rank formula and the opposite rule."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from domain.discovery import ranking
from domain.discovery.ranking import Ranked

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def person(n: int, score: int, rank: float) -> Ranked:
    return Ranked(uuid.UUID(int=n), score, rank)


@pytest.mark.parametrize(("photos", "prompts", "bio", "points"), [
    (1, 0, False, 2), (5, 0, False, 10), (6, 0, False, 10), (1, 3, False, 8), (1, 1, True, 8), (6, 3, True, 20),
])
async def test_completeness_counts_photos_prompts_and_bio_up_to_20(photos: int, prompts: int, bio: bool,
                                                                   points: int) -> None:
    """Completeness: 2 a photo (5 counted), 2 a prompt (3 counted), 4 for a bio; never above 20."""
    assert ranking.completeness(photos, prompts, bio) == points
    assert ranking.MAX_COMPLETENESS == 20


async def test_a_blank_bio_is_no_bio() -> None:
    """Spaces and line breaks alone do not count as a bio."""
    assert not ranking.has_bio(" \n\t ") and not ranking.has_bio("") and not ranking.has_bio(None)
    assert ranking.has_bio(" hi ")


@pytest.mark.parametrize(("idle", "points"), [
    (timedelta(0), 10), (timedelta(days=1), 10), (timedelta(days=1, seconds=1), 7), (timedelta(days=7), 7),
    (timedelta(days=7, seconds=1), 4), (timedelta(days=30), 4), (timedelta(days=30, seconds=1), 0),
])
async def test_recency_steps_at_1_7_and_30_days(idle: timedelta, points: int) -> None:
    """Activity within 1 / 7 / 30 days earns 10 / 7 / 4 points, boundaries included."""
    assert ranking.recency(NOW - idle, NOW) == points


@pytest.mark.parametrize(("age", "points"), [
    (timedelta(0), 20), (timedelta(days=6, hours=23), 20), (timedelta(days=7), 0), (timedelta(days=300), 0),
])
async def test_accounts_newer_than_7_days_earn_20(age: timedelta, points: int) -> None:
    """An account created less than 7 days ago gets 20 points."""
    assert ranking.newness(NOW - age, NOW) == points


async def test_rank_is_half_the_score_plus_the_rest() -> None:
    """rank = compatibility x 0.5 + completeness + recency + newness."""
    assert ranking.rank(87, 12, 7, 20) == 82.5
    assert ranking.rank(100, 20, 10, 20) == 100


async def test_batches_keep_the_best_ranked_opposite() -> None:
    """Without an opposite among the best, the best-ranked opposite replaces the last card."""
    candidates = [person(1, 90, 80), person(2, 85, 70), person(3, 80, 60), person(4, 30, 40), person(5, 20, 30)]
    assert [c.user_id.int for c in ranking.choose_batch(candidates, 3)] == [1, 2, 4]


async def test_an_opposite_already_in_the_batch_changes_nothing() -> None:
    """A batch that already holds an opposite is simply the best by rank."""
    candidates = [person(1, 40, 90), person(2, 85, 70), person(3, 80, 60), person(4, 30, 40)]
    assert [c.user_id.int for c in ranking.choose_batch(candidates, 3)] == [1, 2, 3]


async def test_without_opposites_or_for_one_card_the_best_come_first() -> None:
    """No opposite to keep, or a one-card batch: the best by rank, ties by user id."""
    alike = [person(3, 90, 50), person(1, 90, 50), person(2, 95, 60)]
    assert [c.user_id.int for c in ranking.choose_batch(alike, 2)] == [2, 1]
    with_opposite = [person(1, 90, 80), person(2, 10, 20)]
    assert [c.user_id.int for c in ranking.choose_batch(with_opposite, 1)] == [1]
    assert ranking.choose_batch(with_opposite, 0) == []


async def test_duplicates_are_ignored() -> None:
    """The query may return the opposite twice (in the top and as the extra row): it counts once."""
    twice = [person(1, 90, 80), person(2, 30, 50), person(2, 30, 50)]
    assert [c.user_id.int for c in ranking.choose_batch(twice, 3)] == [1, 2]
