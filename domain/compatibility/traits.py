"""The six traits, their quiz questions and the labels of both ends of each scale."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Trait:
    """One trait: a question answered on a 1-5 scale between two poles."""

    key: str
    question: str
    low: str   # the pole at 1-2 (also its badge)
    high: str  # the pole at 4-5 (also its badge)
    labels: tuple[str, str, str, str, str]


TRAITS: tuple[Trait, ...] = (
    Trait("introvert_extrovert", "After a long week, how do you recharge?", "introvert", "extrovert",
          ("Alone, quietly", "Mostly on my own", "A bit of both", "With a few friends", "Out with lots of people")),
    Trait("planner_spontaneous", "How do you like your weekends?", "planner", "spontaneous",
          ("Planned in advance", "Mostly planned", "Some plan, some surprise", "Mostly unplanned",
           "Whatever comes up")),
    Trait("conflict_talk_space", "When you disagree with a partner, what do you need first?", "talker", "space_taker",
          ("Talk it through right away", "Talk soon", "Depends on the fight", "Some time first",
           "Space until I'm ready")),
    Trait("together_alone_time", "How much time together feels right in a relationship?", "together", "independent",
          ("Almost all of it", "Most of it", "An even balance", "Plenty apart", "Lots of time to myself")),
    Trait("slow_quick_decisions", "How do you make big decisions?", "deliberate", "decisive",
          ("Slowly, weighing everything", "Take my time", "Depends", "Fairly quickly", "On instinct, fast")),
    Trait("routine_novelty", "What makes a good Tuesday evening?", "homebody", "adventurer",
          ("My usual routine", "Mostly routine", "A mix", "Something new", "Something I've never done")),
)

TRAIT_KEYS: tuple[str, ...] = tuple(t.key for t in TRAITS)
BY_KEY: dict[str, Trait] = {t.key: t for t in TRAITS}
NEUTRAL = 3
