"""Figures of the realtime benchmark: percentiles, rates, ratios and targets (pure, no I/O)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

# The targets: p99 at most 3x the floor's, at least half its throughput, at most 30 KB per idle socket.
P99_MAX_RATIO = 3.0
THROUGHPUT_MIN_RATIO = 0.5
CONNECTS_MIN_RATIO = 0.5  # socket connects/s of a node (auth, subscribe, hello) against the bare relay's
IDLE_SOCKET_MAX_KB = 30.0


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) by linear interpolation; ``sorted_values`` must be sorted and non-empty."""
    if not sorted_values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile out of range: {q}")
    position = (len(sorted_values) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    fraction = position - low
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * fraction


def latency_summary(samples_ns: Sequence[int]) -> dict[str, float | int | None]:
    """``{"p50","p90","p99","max","count"}`` in milliseconds (3 decimals) of nanosecond samples."""
    ordered = sorted(samples_ns)
    if not ordered:
        return {"p50": None, "p90": None, "p99": None, "max": None, "count": 0}
    ms = [v / 1e6 for v in ordered]
    return {"p50": round(percentile(ms, 50), 3), "p90": round(percentile(ms, 90), 3),
            "p99": round(percentile(ms, 99), 3), "max": round(ms[-1], 3), "count": len(ms)}


def rate(count: int, seconds: float) -> float:
    """Events per second, one decimal."""
    return round(count / seconds, 1) if seconds > 0 else 0.0


def per_socket_kb(rss_before: int, rss_after: int, sockets: int) -> float | None:
    """Resident memory growth per socket in KB (1 KB = 1024 bytes), one decimal; None without sockets."""
    if sockets <= 0:
        return None
    return round((rss_after - rss_before) / sockets / 1024, 1)


def cpu_percent(cpu_before_s: float, cpu_after_s: float, wall_s: float) -> float:
    """CPU time used over a wall-clock interval, as a percentage of one core."""
    return round(100 * (cpu_after_s - cpu_before_s) / wall_s, 1) if wall_s > 0 else 0.0


def cpu_per_event_us(percent_of_core: float, events_per_s: float) -> float | None:
    """Microseconds of CPU per event, from a process's CPU use and its event rate."""
    return round(percent_of_core / 100 / events_per_s * 1e6, 1) if events_per_s > 0 else None


def ratio(ours: float | None, floor: float | None) -> float | None:
    """``ours / floor`` (3 decimals), or None when either figure is missing or the floor is zero."""
    if ours is None or floor is None or floor == 0:
        return None
    return round(ours / floor, 3)


def ratios(ours: Mapping[str, Any], floor: Mapping[str, Any]) -> dict[str, float | None]:
    """Our figures as ratios to the floor's."""
    return {
        "p99_vs_floor": ratio(ours["latency_ms"]["p99"], floor["latency_ms"]["p99"]),
        "throughput_vs_floor": ratio(ours["throughput_events_per_s"]["total"],
                                     floor["throughput_events_per_s"]["total"]),
        "idle_kb_vs_floor": ratio(ours["idle_socket_kb"], floor["idle_socket_kb"]),
        "connects_vs_floor": ratio(ours["connects_per_s"], floor["connects_per_s"]),
    }


def diagnostic_ratios(ours: Mapping[str, Any], floor: Mapping[str, Any]) -> dict[str, float | None]:
    """Not targets: our nodes alone (events published straight on Redis, nothing stored), and node C's CPU per
    connect, against the floor."""
    relay = ours["relay_only"]
    return {
        "relay_only_throughput_vs_floor": ratio(relay["throughput_events_per_s"]["total"],
                                                floor["throughput_events_per_s"]["total"]),
        "node_cpu_per_event_vs_floor": ratio(relay["node_cpu_us_per_event"]["node_b"],
                                             floor["node_cpu_us_per_event"]["node_b"]),
        "node_cpu_per_connect_vs_floor": ratio(ours.get("node_cpu_us_per_connect"),
                                               floor.get("node_cpu_us_per_connect")),
    }


def targets(ours: Mapping[str, Any], relative: Mapping[str, float | None]) -> dict[str, bool]:
    """Whether each target of the issue is met (a missing figure fails its target)."""
    p99 = relative["p99_vs_floor"]
    throughput = relative["throughput_vs_floor"]
    idle = ours["idle_socket_kb"]
    connects = relative.get("connects_vs_floor")
    return {
        "p99_le_3x_floor": p99 is not None and p99 <= P99_MAX_RATIO,
        "throughput_ge_half_floor": throughput is not None and throughput >= THROUGHPUT_MIN_RATIO,
        "idle_socket_le_30kb": idle is not None and idle <= IDLE_SOCKET_MAX_KB,
        "connects_ge_half_floor": connects is not None and connects >= CONNECTS_MIN_RATIO,
    }
