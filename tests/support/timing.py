"""Comparing the timing of two kinds of request (the enumeration tests: login, forgotten password).

Each sample records the status, the body, the headers (``Date`` left out) and the time of one request; two
sets of samples are compared by the gap between their medians and a two-sided permutation test on it.
Method and figures: docs/fuzzing.md.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx


@dataclass
class Samples:
    times: list[float] = field(default_factory=list)
    statuses: set[int] = field(default_factory=set)
    bodies: set[bytes] = field(default_factory=set)
    headers: set[tuple[tuple[str, str], ...]] = field(default_factory=set)

    def add(self, resp: httpx.Response, seconds: float) -> None:
        """Record one response and how long it took."""
        self.times.append(seconds)
        self.statuses.add(resp.status_code)
        self.bodies.add(resp.content)
        self.headers.add(tuple(sorted((k, v) for k, v in resp.headers.items() if k != "date")))


def median_gap(a: Sequence[float], b: Sequence[float]) -> float:
    return abs(statistics.median(a) - statistics.median(b))


def permutation_p_value(a: Sequence[float], b: Sequence[float], rounds: int, seed: int) -> float:
    """Two-sided permutation test on the difference of medians: how often a random split is as far apart."""
    observed = median_gap(a, b)
    pooled = list(a) + list(b)
    rng = random.Random(seed)
    hits = 0
    for _ in range(rounds):
        rng.shuffle(pooled)
        if median_gap(pooled[: len(a)], pooled[len(a):]) >= observed:
            hits += 1
    return (hits + 1) / (rounds + 1)


def pct(values: Sequence[float], q: int) -> float:
    """The q-th percentile in milliseconds."""
    return statistics.quantiles(values, n=100)[q - 1] * 1000
