"""The nodes' own view of a load run: their Prometheus histograms, scraped before and after the measured window.

``window`` subtracts the two scrapes, so warm-up and connecting do not count; ``quantiles`` turns a latency
histogram into p50/p99 per label value the way PromQL's ``histogram_quantile`` does (linear inside a bucket),
summed over the nodes. The load report shows them beside the clients' own figures.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(urls: list[str]) -> Samples:
    """Every node's samples, summed by (name, labels)."""
    total: Samples = defaultdict(float)
    async with httpx.AsyncClient(timeout=10) as http:
        for url in urls:
            text = (await http.get(url)).text
            for family in text_string_to_metric_families(text):
                for sample in family.samples:
                    total[(sample.name, frozenset(sample.labels.items()))] += sample.value
    return dict(total)


def window(before: Samples, after: Samples) -> Samples:
    """What happened between two scrapes (counters and histogram buckets only grow)."""
    return {key: value - before.get(key, 0.0) for key, value in after.items()}


def _quantile(buckets: list[tuple[float, float]], q: float) -> float | None:
    """``histogram_quantile`` over cumulative ``(upper bound, count)`` pairs sorted by bound."""
    count = buckets[-1][1] if buckets else 0.0
    if count <= 0:
        return None
    rank = q * count
    lower_bound, lower_count = 0.0, 0.0
    for bound, cumulative in buckets:
        if cumulative >= rank:
            if math.isinf(bound):
                return lower_bound
            inside = cumulative - lower_count
            return lower_bound + (bound - lower_bound) * ((rank - lower_count) / inside if inside else 1.0)
        lower_bound, lower_count = bound, cumulative
    return lower_bound


def quantiles(samples: Samples, histogram: str, label: str | None = None) -> dict[str, dict[str, Any]]:
    """p50, p99 (ms) and count of ``histogram`` per value of ``label`` (``"all"`` without a label)."""
    per: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for (name, labels), value in samples.items():
        if name != f"{histogram}_bucket":
            continue
        found = dict(labels)
        per[found.get(label, "all") if label else "all"].append((float(found["le"]), value))
    result: dict[str, dict[str, Any]] = {}
    for key, buckets in sorted(per.items()):
        buckets.sort()
        count = int(buckets[-1][1])
        if count > 0:
            result[key] = {"p50": _ms(_quantile(buckets, 0.5)), "p99": _ms(_quantile(buckets, 0.99)), "count": count}
    return result


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)
