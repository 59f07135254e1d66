"""Compatibility, labels, highlights and badges (pure; CONTRACT section 3 "Compatibility").

Score = 100 - (sum of |a - b| over the six traits / 24 x 100), rounded half up
to a whole number; a trait someone has not answered counts as 3. Each trait is
labelled by its difference (0 aligned, 1 similar, 2 different, 3-4 opposite).
The summary follows the bands 80-100, 60-79, 40-59, 0-39. At most three
highlights, drawn only from traits that differ by at most 1 (closest first,
then in quiz order). Badges come only from answers 1-2 or 4-5.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from domain.compatibility.traits import BY_KEY, NEUTRAL, TRAIT_KEYS, TRAITS
from domain.wire.replies import CompatibilityReply

MAX_DISTANCE = 4 * len(TRAIT_KEYS)  # 24
SUMMARIES = (
    (80, "very compatible"),
    (60, "compatible"),
    (40, "some differences"),
    (0, "complementary opposites"),
)
LABELS = {0: "aligned", 1: "similar", 2: "different", 3: "opposite", 4: "opposite"}

Answers = Mapping[str, int]


@dataclass(frozen=True)
class TraitComparison:
    trait: str
    difference: int
    label: str


@dataclass(frozen=True)
class Compatibility:
    score: int
    summary: str
    traits: tuple[TraitComparison, ...]
    highlights: tuple[str, ...]

    def as_dict(self) -> CompatibilityReply:
        """The ``compatibility.get`` reply."""
        return {"score": self.score, "summary": self.summary,
                "traits": [{"trait": t.trait, "difference": t.difference, "label": t.label} for t in self.traits],
                "highlights": list(self.highlights)}


def vector(answers: Answers) -> list[float]:
    """The six answers in quiz order (missing ones as 3): the stored ``vector(6)``."""
    return [float(answers.get(key, NEUTRAL)) for key in TRAIT_KEYS]


def score_from_distance(distance: float) -> int:
    """Score from the L1 distance between two trait vectors (what pgvector's ``<+>`` returns)."""
    return math.floor(100 - distance / MAX_DISTANCE * 100 + 0.5)


def summary_for(score: int) -> str:
    """The summary band of a score."""
    for floor, text in SUMMARIES:
        if score >= floor:
            return text
    return SUMMARIES[-1][1]


def _highlight(key: str, a: int, b: int) -> str:
    trait = BY_KEY[key]
    mean = (a + b) / 2
    if mean < NEUTRAL:
        return f"both lean {trait.low.replace('_', ' ')}"
    if mean > NEUTRAL:
        return f"both lean {trait.high.replace('_', ' ')}"
    return f"both balanced on {key.replace('_', ' / ')}"


def compare(mine: Answers, theirs: Answers) -> Compatibility:
    """Full comparison of two people's answers."""
    comparisons = []
    for key in TRAIT_KEYS:
        diff = abs(mine.get(key, NEUTRAL) - theirs.get(key, NEUTRAL))
        comparisons.append(TraitComparison(key, diff, LABELS[diff]))
    score = score_from_distance(sum(c.difference for c in comparisons))
    close = sorted((c for c in comparisons if c.difference <= 1),
                   key=lambda c: (c.difference, TRAIT_KEYS.index(c.trait)))
    highlights = tuple(_highlight(c.trait, mine.get(c.trait, NEUTRAL), theirs.get(c.trait, NEUTRAL))
                       for c in close[:3])
    return Compatibility(score, summary_for(score), tuple(comparisons), highlights)


def badges(answers: Answers) -> list[str]:
    """Badges earned by clear answers (1-2 → the low pole, 4-5 → the high pole; 3 earns none)."""
    earned = []
    for trait in TRAITS:
        value = answers.get(trait.key)
        if value is None or value == NEUTRAL:
            continue
        earned.append(trait.low if value <= 2 else trait.high)
    return earned
