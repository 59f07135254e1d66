"""Figures of the load benchmark (pure, no I/O): latency summaries from the recorded samples, the soak's
memory growth and p99 drift, the issue's targets and what makes a run unhealthy.

Latency samples are ``(at_s, ms)`` pairs per kind; the timeline has one row per second.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bench.stats import percentile

# the targets
DELIVERY_P99_MAX_MS = 50.0
IDLE_SOCKET_MAX_KB = 30.0
PING_P99_MAX_MS = 20.0
SOAK_GROWTH_MAX_PERCENT = 5.0
SOAK_DRIFT_MAX = 1.2
CPU_PER_COMMAND_MAX_MS = 1.4  # server CPU (user+sys of the node processes) per command answered
TARGET_USERS, TARGET_ACTIVE, TARGET_IDLE_SOCKETS, TARGET_LOGINS, TARGET_SOAK_S = 2000, 200, 10_000, 20, 600.0

# kinds whose latency is "event delivery" (command sent by one user -> event on another's device)
DELIVERY_KINDS = ("match.created", "message.created", "like.received", "message.read", "typing",
                  "moderation.report", "moderation.warning")

Samples = dict[str, tuple[Sequence[float], Sequence[float]]]  # kind -> (at s, latency ms)


def summary_ms(values: Sequence[float]) -> dict[str, float | int | None]:
    """``{"p50","p90","p99","max","count"}`` of millisecond values (3 decimals); None figures without values."""
    ordered = sorted(values)
    if not ordered:
        return {"p50": None, "p90": None, "p99": None, "max": None, "count": 0}
    return {"p50": round(percentile(ordered, 50), 3), "p90": round(percentile(ordered, 90), 3),
            "p99": round(percentile(ordered, 99), 3), "max": round(ordered[-1], 3), "count": len(ordered)}


def window(samples: Samples, kinds: Sequence[str], start_s: float, end_s: float) -> list[float]:
    """Latencies of ``kinds`` that arrived within ``[start_s, end_s)``."""
    out: list[float] = []
    for kind in kinds:
        at, ms = samples.get(kind, ((), ()))
        out.extend(v for t, v in zip(at, ms, strict=True) if start_s <= t < end_s)
    return out


def latency_table(samples: Samples) -> dict[str, dict[str, float | int | None]]:
    """Every kind's latency summary, plus ``deliveries (all)`` over the delivery kinds."""
    table = {kind: summary_ms(ms) for kind, (_, ms) in sorted(samples.items())}
    table["deliveries (all)"] = summary_ms([v for k in DELIVERY_KINDS for v in samples.get(k, ((), ()))[1]])
    return table


def cpu_per_command(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]],
                    nodes: Sequence[str], commands: int) -> dict[str, Any]:
    """Server CPU per command over the measured window: the node processes' CPU seconds (user+sys, from two
    ``harness.cpu_snapshot``s) divided by the commands answered in that window (a reply or an error code)."""
    used = {n: sum(t - before.get(n, {}).get(pid, t) for pid, t in after.get(n, {}).items()) for n in nodes}
    total = sum(used.values())
    return {"node_cpu_s": {n: round(v, 3) for n, v in used.items()}, "commands": commands,
            "ms": round(total * 1000 / commands, 3) if commands else None}


def cpu_per_command_line(figure: dict[str, Any]) -> str:
    """The report's line: ``server CPU per command: X ms (target <= 1.4 ms: met/missed)``."""
    ms = figure["ms"]
    verdict = "-" if ms is None else ("met" if ms <= CPU_PER_COMMAND_MAX_MS else "missed")
    shown = "-" if ms is None else f"{ms:.2f}"
    return (f"server CPU per command: {shown} ms (target \u2264 {CPU_PER_COMMAND_MAX_MS:g} ms: {verdict}); "
            f"{figure['commands']} commands answered, node CPU s "
            + ", ".join(f"{n} {v:.2f}" for n, v in figure["node_cpu_s"].items()))


def _median(values: list[float]) -> float | None:
    return round(percentile(sorted(values), 50), 1) if values else None


def soak_figures(timeline: list[dict[str, Any]], samples: Samples, duration_s: float,
                 nodes: Sequence[str]) -> dict[str, Any]:
    """Memory growth per node after warm-up, its slope, and p99 of the first and last window."""
    warmup = round(min(120.0, max(5.0, duration_s * 0.2)), 1)
    span = round(min(60.0, max(1.0, duration_s / 3)), 1)
    growth: dict[str, float | None] = {}
    slope: dict[str, float | None] = {}
    for node in nodes:
        points = [(row["t"], row["rss_mb"].get(node)) for row in timeline if row["rss_mb"].get(node) is not None]
        base = _median([v for t, v in points if warmup - 10 <= t <= warmup])
        end = _median([v for t, v in points if t >= duration_s - 10])
        growth[node] = round((end - base) / base * 100, 2) if base and end else None
        after = [(t, v) for t, v in points if t >= warmup]
        if len(after) >= 2:
            mean_t = sum(t for t, _ in after) / len(after)
            mean_v = sum(v for _, v in after) / len(after)
            den = sum((t - mean_t) ** 2 for t, _ in after)
            slope[node] = round(sum((t - mean_t) * (v - mean_v) for t, v in after) / den * 60, 3) if den else None
        else:
            slope[node] = None
    first: dict[str, float | None] = {}
    last: dict[str, float | None] = {}
    drift: dict[str, float | None] = {}
    for kind in ("deliveries (all)", "match.created", "message.created"):
        kinds = DELIVERY_KINDS if kind == "deliveries (all)" else (kind,)
        f = summary_ms(window(samples, kinds, 0, span))["p99"]
        la = summary_ms(window(samples, kinds, duration_s - span, duration_s + 60))["p99"]
        first[kind], last[kind] = f, la
        drift[kind] = round(la / f, 3) if f and la else None
    starts = [k * span for k in range(max(1, int(duration_s // span)))]
    per_window = {kind: [summary_ms(window(samples, DELIVERY_KINDS if kind == "deliveries (all)" else (kind,),
                                           s, s + span))["p99"] for s in starts]
                  for kind in ("deliveries (all)", *sorted(samples))}
    return {"duration_s": duration_s, "warmup_s": warmup, "window_s": span, "memory_growth_percent": growth,
            "rss_slope_mb_per_min": slope, "p99_first_window_ms": first, "p99_last_window_ms": last,
            "p99_drift": drift, "p99_per_window_ms": per_window, "evaluated": duration_s >= TARGET_SOAK_S}


def _target(what: str, value: Any, ok: bool | None, at_scale: bool, limit: str = "") -> dict[str, Any]:
    """``met`` is None when the figure is missing or was not measured at the target's scale."""
    return {"target": what, "value": value, "met": ok if (at_scale and ok is not None) else None,
            "value_meets_bound": ok, "at_target_scale": at_scale, "limited_by": limit}


def targets(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each target of the issue: the figure, whether it is met, and whether the run was at the target's scale."""
    out: dict[str, dict[str, Any]] = {}
    mixed, idle, logins, soak = doc.get("mixed"), doc.get("idle"), doc.get("logins"), doc.get("soak")
    if mixed is not None:
        scale = mixed["users"] >= TARGET_USERS and mixed["active"] >= TARGET_ACTIVE and len(mixed["nodes"]) == 2
        for kind in ("match.created", "message.created"):
            p99 = mixed["latency_ms"].get(kind, {}).get("p99")
            out[f"mixed_{kind}_p99_le_50ms"] = _target(
                f"{kind} delivery p99 <= {DELIVERY_P99_MAX_MS:g} ms with {TARGET_USERS} users / {TARGET_ACTIVE} "
                "active on 2 nodes", p99, None if p99 is None else p99 <= DELIVERY_P99_MAX_MS, scale)
        ms = (mixed.get("cpu_per_command") or {}).get("ms")
        out["mixed_cpu_per_command_le_1_4ms"] = _target(
            f"server CPU per command <= {CPU_PER_COMMAND_MAX_MS:g} ms (user+sys of both nodes / commands answered)",
            ms, None if ms is None else ms <= CPU_PER_COMMAND_MAX_MS, scale)
        lost = mixed["verification"]["lost"] + mixed["verification"]["unexpected"]
        out["mixed_zero_durable_events_lost"] = _target("zero durable events lost (or unexpected)", lost,
                                                        lost == 0, True)
    if idle is not None:
        scale = idle["sockets"] >= TARGET_IDLE_SOCKETS
        kb = idle["kb_per_socket"]
        out["idle_rss_le_30kb_per_socket"] = _target(
            f"<= {IDLE_SOCKET_MAX_KB:g} KB RSS per idle authenticated socket ({TARGET_IDLE_SOCKETS} on one node)",
            kb, None if kb is None else kb <= IDLE_SOCKET_MAX_KB, scale)
        p99 = idle["ping_ms"]["p99"]
        out["idle_ping_p99_le_20ms"] = _target(f"ping p99 <= {PING_P99_MAX_MS:g} ms while the idle sockets are held",
                                               p99, None if p99 is None else p99 <= PING_P99_MAX_MS, scale)
    if soak is not None:
        scale = bool(soak["evaluated"])
        growth = [v for v in soak["memory_growth_percent"].values() if v is not None]
        worst = max(growth) if growth else None
        out["soak_memory_growth_le_5pct"] = _target(
            f"per-node RSS growth after warm-up <= {SOAK_GROWTH_MAX_PERCENT:g}% over >= 10 min", worst,
            None if worst is None else worst <= SOAK_GROWTH_MAX_PERCENT, scale)
        drift = soak["p99_drift"]["deliveries (all)"]
        out["soak_p99_drift_le_1_2"] = _target(
            f"delivery p99 of the last minute <= {SOAK_DRIFT_MAX:g}x the first", drift,
            None if drift is None else drift <= SOAK_DRIFT_MAX, scale)
    if logins is not None:
        scale = logins["logins"] >= TARGET_LOGINS and logins["bcrypt_cost"] >= 12
        p99 = logins["ping_ms_during"]["p99"]
        out["logins_ping_p99_le_20ms"] = _target(
            f"ping p99 <= {PING_P99_MAX_MS:g} ms while {TARGET_LOGINS} logins run at bcrypt cost 12", p99,
            None if p99 is None else p99 <= PING_P99_MAX_MS, scale)
    return out


def problems(doc: dict[str, Any]) -> list[str]:
    """What makes the run unhealthy, in words (empty: healthy)."""
    found = []
    mixed = doc.get("mixed")
    if mixed is not None:
        v = mixed["verification"]
        if v["lost"]:
            found.append(f"{v['lost']} durable event deliveries lost (ids in mixed.verification.lost_ids)")
        if v["unexpected"]:
            found.append(f"{v['unexpected']} durable events received that were never committed")
        if not v["caught_up"]:
            found.append("some devices had not caught up with their stored events when the run ended")
        if mixed["connect"]["failed"]:
            found.append(f"{mixed['connect']['failed']} sockets failed to connect")
        bad = {k: n for k, n in mixed["errors"].items() if "interrupted by a socket drop" not in k}
        total = mixed["commands"]["total"]
        if total and sum(bad.values()) > 0.01 * total:
            found.append(f"{sum(bad.values())} of {total} commands failed: {bad}")
    for name, t in doc.get("targets", {}).items():
        if t["met"] is False:
            found.append(f"target missed: {name} ({t['value']})")
    return found
