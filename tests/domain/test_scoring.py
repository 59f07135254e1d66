"""CONTRACT section 3 "Compatibility": the pure scoring rules, table-driven."""

from __future__ import annotations

import pytest

from domain.compatibility.scoring import badges, compare, score_from_distance, summary_for, vector
from domain.compatibility.traits import TRAIT_KEYS

ALL3 = dict.fromkeys(TRAIT_KEYS, 3)


def answers(*values: int) -> dict[str, int]:
    return dict(zip(TRAIT_KEYS, values, strict=True))


@pytest.mark.parametrize(("mine", "theirs", "score", "summary"), [
    (answers(1, 2, 3, 4, 5, 1), answers(1, 2, 3, 4, 5, 1), 100, "very compatible"),       # all equal
    (answers(1, 1, 1, 1, 1, 1), answers(5, 5, 5, 5, 5, 5), 0, "complementary opposites"),  # all opposite
    (answers(1, 1, 1, 1, 1, 1), answers(2, 1, 1, 1, 1, 1), 96, "very compatible"),        # 100 - 1/24*100 = 95.8
    (answers(1, 1, 1, 1, 1, 1), answers(4, 4, 1, 1, 1, 1), 75, "compatible"),             # sum 6 -> 75
    (answers(1, 1, 1, 1, 1, 1), answers(3, 3, 3, 1, 1, 1), 75, "compatible"),
    (answers(1, 1, 1, 1, 1, 1), answers(5, 3, 1, 1, 1, 1), 75, "compatible"),
    (answers(1, 1, 1, 1, 1, 1), answers(4, 4, 4, 1, 1, 2), 58, "some differences"),       # sum 10 -> 58.3
    (answers(1, 1, 1, 1, 1, 1), answers(5, 5, 4, 1, 1, 1), 54, "some differences"),       # sum 11 -> 54.2
    (answers(1, 1, 1, 1, 1, 1), answers(5, 5, 5, 5, 3, 1), 25, "complementary opposites"),  # sum 18
    (answers(1, 1, 1, 1, 1, 1), answers(5, 5, 5, 3, 1, 1), 42, "some differences"),  # sum 14 -> 41.7
])
def test_score_and_summary(mine: dict[str, int], theirs: dict[str, int], score: int, summary: str) -> None:
    """Score is 100 - sum|a-b|/24*100 rounded half up, with the summary of its band."""
    result = compare(mine, theirs)
    assert (result.score, result.summary) == (score, summary)


def test_missing_traits_count_as_three() -> None:
    """A trait someone did not answer counts as 3 (an empty quiz is 3s everywhere)."""
    assert compare({}, ALL3).score == 100
    assert compare({"introvert_extrovert": 5}, {}).traits[0].difference == 2
    assert compare({}, answers(1, 1, 1, 1, 1, 1)).score == 50
    assert vector({"planner_spontaneous": 5}) == [3.0, 5.0, 3.0, 3.0, 3.0, 3.0]


@pytest.mark.parametrize(("difference", "label"), [(0, "aligned"), (1, "similar"), (2, "different"),
                                                    (3, "opposite"), (4, "opposite")])
def test_trait_labels_by_difference(difference: int, label: str) -> None:
    """Each trait is labelled by its difference: 0 aligned, 1 similar, 2 different, 3-4 opposite."""
    result = compare(answers(1, 1, 1, 1, 1, 1), answers(1 + difference, 1, 1, 1, 1, 1))
    assert (result.traits[0].difference, result.traits[0].label) == (difference, label)


@pytest.mark.parametrize(("score", "summary"), [(100, "very compatible"), (80, "very compatible"),
                                                (79, "compatible"), (60, "compatible"), (59, "some differences"),
                                                (40, "some differences"), (39, "complementary opposites"),
                                                (0, "complementary opposites")])
def test_summary_band_edges(score: int, summary: str) -> None:
    """Summary bands are 80-100, 60-79, 40-59 and 0-39, edges included."""
    assert summary_for(score) == summary


def test_highlights_are_at_most_three_and_only_close_traits() -> None:
    """At most 3 highlights, only from traits differing by at most 1, closest first."""
    result = compare(answers(1, 1, 1, 1, 1, 1), answers(1, 2, 1, 2, 1, 5))
    assert len(result.highlights) == 3
    close = {t.trait for t in result.traits if t.difference <= 1}
    assert len(close) == 5
    # the three exact matches (differences 0) come before the differences of 1
    assert result.highlights == ("both lean introvert", "both lean talker", "both lean deliberate")
    far = compare(answers(1, 1, 1, 1, 1, 1), answers(5, 5, 5, 4, 4, 3))
    assert far.highlights == ()


def test_highlight_wording_follows_the_shared_side() -> None:
    """A highlight names the pole both lean to, or says both are balanced."""
    assert compare(answers(5, 3, 3, 3, 3, 3), answers(4, 1, 5, 1, 5, 1)).highlights[0] == "both lean extrovert"
    assert compare(ALL3, ALL3).highlights[0] == "both balanced on introvert / extrovert"


def test_badges_only_for_clear_answers() -> None:
    """Badges come only from answers 1-2 (low pole) or 4-5 (high pole); a 3 earns none."""
    assert badges(answers(1, 2, 3, 4, 5, 3)) == ["introvert", "planner", "independent", "decisive"]
    assert badges(ALL3) == []
    assert badges({}) == []


def test_score_from_pgvector_distance_matches_compare() -> None:
    """The score from an L1 distance (pgvector <+>) equals the one from comparing answers."""
    for distance in range(25):
        theirs = answers(*[1 + min(4, max(0, distance - 4 * i)) for i in range(6)])
        assert score_from_distance(float(distance)) == compare(answers(1, 1, 1, 1, 1, 1), theirs).score
