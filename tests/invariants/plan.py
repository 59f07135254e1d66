"""The seeded plan of the randomised workload (pure: no I/O, no clock).

``make_plan(seed, people, steps)`` is a function of its arguments alone: the same seed gives
the same batches of actions, so a failing run can be replayed with ``INVARIANT_SEED``. What the
server answers still depends on timing (which of two racing commands wins), so a replay repeats
the choices, not necessarily the interleaving.

Each batch holds at most one action per person; the batch runs at once. Besides random single
actions, a batch holds deliberate races between two people: a mutual like at the same instant,
both confirming dating at the same instant, a message while the other ends the match (block or
unmatch), a like while the other blocks, and a discovery request while the other blocks.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# how often each single action is chosen (weights)
WEIGHTS: dict[str, int] = {
    "like": 28, "pass": 8, "pass.undo": 4, "block": 3, "report": 2, "match.unmatch": 5,
    "match.dating": 6, "messages.send": 26, "discovery.request": 11, "discovery.device": 7,
}
RACE_CHANCE = 0.35  # chance, per pair of people left in a batch, of making them race
UNMATCH_REASONS = ("not_interested", "no_response", "inappropriate", "met_offline", "other")
REPORT_REASONS = ("fake_profile", "inappropriate_content", "harassment", "spam", "underage", "other")
OPENERS = ("Hi", "Hey", "Hello", "Good evening", "Morning", "Ahoy", "Salut", "Hola", "Yo")
TOPICS = ("your hiking photo", "that sunset picture", "your taste in books", "the dog in photo two",
          "your prompt answer", "the climbing wall", "your travel map", "your playlist", "that pasta")
# the same text once folded (case, spaces, 0 for o): the third use by one person is spam_detected
SPAM = ("Hey, love your smile!", "hey,  LOVE your smile!", "Hey, l0ve your smile!")


@dataclass(frozen=True)
class Action:
    """One command by person ``actor`` (indexes into the people of the run)."""

    actor: int
    kind: str  # a command type, or "discovery.device": discovery.request on a new socket
    target: int = -1  # the other person (likes, passes, blocks, reports, and the partner of a match)
    comment: str | None = None
    count: int = 0  # discovery.request
    reason: str = ""  # match.unmatch, report
    details: str | None = None  # report
    body: str = ""  # messages.send
    retry: bool = False  # messages.send: send the actor's last message to ``target`` again, same client_msg_id


class Planner:
    """Builds actions, keeping a rough model (planned likes) so that likes back and messages are likely."""

    def __init__(self, rng: random.Random, people: int) -> None:
        self.rng = rng
        self.n = people
        self.liked: set[tuple[int, int]] = set()
        self.passed: set[tuple[int, int]] = set()
        self.messages = 0

    def other(self, a: int) -> int:
        b = self.rng.randrange(self.n - 1)
        return b if b < a else b + 1

    def partners(self, a: int) -> list[int]:
        """People ``a`` probably matched (both likes planned)."""
        return [b for b in range(self.n) if (a, b) in self.liked and (b, a) in self.liked]

    def fans(self, a: int) -> list[int]:
        return [b for b in range(self.n) if (b, a) in self.liked and (a, b) not in self.liked]

    def comment(self) -> str | None:
        roll = self.rng.random()
        if roll < 0.08:
            return None  # comment_required while among the first five likes
        if roll < 0.3:
            return self.rng.choice(SPAM)
        return f"{self.rng.choice(OPENERS)}, I liked {self.rng.choice(TOPICS)} ({self.rng.randrange(10**6)})"

    def like(self, a: int, b: int | None = None) -> Action:
        if b is None:
            fans = self.fans(a)
            b = self.rng.choice(fans) if fans and self.rng.random() < 0.6 else self.other(a)
        self.liked.add((a, b))
        return Action(a, "like", b, comment=self.comment())

    def message(self, a: int, b: int) -> Action:
        self.messages += 1
        return Action(a, "messages.send", b, body=f"message {self.messages} from {a} to {b}",
                      retry=self.rng.random() < 0.12)

    def block(self, a: int, b: int) -> Action:
        if self.rng.random() < 0.6:
            return Action(a, "block", b)
        details = "made up in a test" if self.rng.random() < 0.5 else None
        return Action(a, "report", b, reason=self.rng.choice(REPORT_REASONS), details=details)

    def single(self, a: int) -> Action:
        kind = self.rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()))[0]
        partners = self.partners(a)
        if kind in ("match.unmatch", "match.dating", "messages.send") and not partners:
            kind = "like"
        if kind == "like":
            return self.like(a)
        if kind == "messages.send":
            return self.message(a, self.rng.choice(partners))
        if kind == "match.unmatch":
            return Action(a, kind, self.rng.choice(partners), reason=self.rng.choice(UNMATCH_REASONS))
        if kind == "match.dating":
            return Action(a, kind, self.rng.choice(partners))
        if kind in ("block", "report"):
            target = self.rng.choice(partners) if partners and self.rng.random() < 0.5 else self.other(a)
            return self.block(a, target)
        if kind == "discovery.request":
            return Action(a, kind, count=self.rng.randint(1, 10))
        if kind == "discovery.device":
            return Action(a, kind, count=20)
        if kind == "pass.undo":
            passed = sorted(b for x, b in self.passed if x == a)
            return Action(a, kind, self.rng.choice(passed) if passed and self.rng.random() < 0.8 else self.other(a))
        target = self.other(a)
        self.passed.add((a, target))
        return Action(a, kind, target)  # pass

    def race(self, a: int, free: list[int]) -> list[Action] | None:
        """Two actions of ``a`` and someone in ``free`` that contend for the same pair, or None."""
        roll = self.rng.random()
        if roll < 0.35:
            fresh = [b for b in free if (a, b) not in self.liked and (b, a) not in self.liked]
            if fresh:
                b = self.rng.choice(fresh)
                return [self.like(a, b), self.like(b, a)]
        elif roll < 0.45:
            partners = [b for b in self.partners(a) if b in free]
            if partners:
                b = self.rng.choice(partners)
                return [Action(a, "match.dating", b), Action(b, "match.dating", a)]
        elif roll < 0.7:
            partners = [b for b in self.partners(a) if b in free]
            if partners:
                b = self.rng.choice(partners)
                end = (self.block(b, a) if self.rng.random() < 0.4
                       else Action(b, "match.unmatch", a, reason=self.rng.choice(UNMATCH_REASONS)))
                return [self.message(a, b), end]
        elif roll < 0.85:
            b = self.rng.choice(free)
            return [self.like(a, b), self.block(b, a)]
        else:
            b = self.rng.choice(free)
            return [Action(a, "discovery.device", count=20), self.block(b, a)]
        return None


def make_plan(seed: int, people: int, steps: int) -> list[list[Action]]:
    """About ``steps`` actions of ``people`` people, in batches that each run at once."""
    rng = random.Random(seed)
    planner = Planner(rng, people)
    batches: list[list[Action]] = []
    planned = 0
    while planned < steps:
        free = rng.sample(range(people), rng.randint(max(2, people // 3), people))
        batch: list[Action] = []
        while len(free) >= 2 and rng.random() < RACE_CHANCE:
            a = free.pop()
            pair = planner.race(a, free)
            if pair is None:
                batch.append(planner.single(a))
                continue
            free.remove(pair[1].actor)
            batch.extend(pair)
        batch.extend(planner.single(a) for a in free)
        batches.append(batch)
        planned += len(batch)
    return batches
