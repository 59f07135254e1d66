"""The report folder of ``delete-api bench load``: figures from samples, targets, ``report.md`` and the PNG plots.

The figures are computed here from what the run recorded (latency samples as ``(at_s, ms)`` pairs per
kind, one timeline row per second); ``summary.json`` holds every figure with the run's parameters and
the machine's facts, ``report.md`` opens with the verdict so a reader sees at once whether the run was
healthy, and the plots show the run over time. matplotlib (the ``bench`` extra) draws with the Agg
backend: no display is needed.
"""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from delete_api.bench.stats import percentile

# the targets
DELIVERY_P99_MAX_MS = 50.0
IDLE_SOCKET_MAX_KB = 30.0
PING_P99_MAX_MS = 20.0
SOAK_GROWTH_MAX_PERCENT = 5.0
SOAK_DRIFT_MAX = 1.2
TARGET_USERS, TARGET_ACTIVE, TARGET_IDLE_SOCKETS, TARGET_LOGINS, TARGET_SOAK_S = 2000, 200, 10_000, 20, 600.0

# kinds whose latency is "event delivery" (command sent by one user -> event on another's device)
DELIVERY_KINDS = ("match.created", "message.created", "like.received", "message.read", "typing",
                  "moderation.report", "moderation.warning")
SAMPLES_FILE = "samples.csv.gz"
PLOTS = ("latency.png", "events_per_s.png", "rss.png", "sockets.png", "p99_over_time.png")
SUMMARY_KEYS = ("benchmark", "params", "machine", "mixed", "soak", "idle", "logins", "targets", "healthy",
                "problems", "plots", "wall_s")
MIXED_KEYS = ("nodes", "users", "active", "sockets", "duration_s", "measured_from_unix", "generator_max_rss_mb",
              "warmup", "connect", "latency_ms", "commands",
              "command_types", "errors", "events", "delivered_per_s", "verification", "node_memory", "cpu_percent",
              "server_log", "timeline")
VERIFICATION_KEYS = ("committed_events", "devices", "expected_deliveries", "delivered_live", "recovered_by_sync",
                     "lost", "lost_ids", "unexpected", "unexpected_ids", "duplicates", "caught_up")
SOAK_KEYS = ("duration_s", "warmup_s", "window_s", "memory_growth_percent", "rss_slope_mb_per_min",
             "p99_first_window_ms", "p99_last_window_ms", "p99_drift", "p99_per_window_ms", "evaluated")
IDLE_KEYS = ("sockets", "rss_mb", "kb_per_socket", "kb_per_socket_at_open", "connects_per_s", "ping_ms",
             "ping_ms_before", "hold_s", "cpu_percent", "timeline")
LOGINS_KEYS = ("logins", "rounds", "bcrypt_cost", "login_ms", "login_status", "ping_ms_before", "ping_ms_during",
               "window_s", "cpu_percent")

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


# -- report.md -------------------------------------------------------------------------------------------

def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def markdown(doc: dict[str, Any]) -> str:
    """``report.md``: the verdict, the targets, then each scenario's figures and the plots."""
    lines = [f"# Load report: {'HEALTHY' if doc['healthy'] else 'NOT HEALTHY'}", ""]
    m = doc["machine"]
    lines.append(f"{m['cpus']} CPUs, {m['memory_gb']} GB, Python {m['python']}, load average (1 min) "
                 f"{m['load_average']['1m']} at the start, {m.get('load_average_end', {}).get('1m', '-')} at "
                 f"the end; other processes used {m.get('other_load_percent_of_core', '-')}% of a core. "
                 f"Command: `{doc['params']['command']}`.")
    lines.append("")
    if doc["problems"]:
        lines += ["**Problems**", ""] + [f"- {p}" for p in doc["problems"]] + [""]
    lines += ["## Targets", "", "| target | measured | met |", "|---|---|---|"]
    for t in doc["targets"].values():
        met = {True: "yes", False: "**no**", None: "not at target scale" if t["value"] is not None else "-"}[t["met"]]
        if t["met"] is None and t["value_meets_bound"] is not None:
            met += f" (value {'within' if t['value_meets_bound'] else 'over'} the bound)"
        lines.append(f"| {t['target']} | {_fmt(t['value'])} | {met} |")
    lines.append("")
    mixed = doc.get("mixed")
    if mixed is not None:
        v = mixed["verification"]
        lines += ["## Mixed load", "",
                  f"{mixed['users']:,} users ({mixed['active']} active) on {len(mixed['nodes'])} nodes, "
                  f"{mixed['sockets']:,} sockets, {mixed['duration_s']:g} s measured; connecting took "
                  f"{_fmt(mixed['connect']['seconds'])} s (hello p99 {_fmt(mixed['connect']['hello_ms']['p99'])} ms, "
                  f"{mixed['connect']['failed']} failed). The users ran {mixed['warmup']['seconds']:g} s before "
                  f"the measurement started (delivery p99 in that warm-up: "
                  f"{_fmt(mixed['warmup']['latency_ms']['deliveries (all)']['p99'])} ms).", "",
                  "| latency (ms) | p50 | p90 | p99 | max | samples |", "|---|---|---|---|---|---|"]
        for kind, s in mixed["latency_ms"].items():
            lines.append(f"| {kind} | {_fmt(s['p50'])} | {_fmt(s['p90'])} | {_fmt(s['p99'])} | {_fmt(s['max'])} "
                         f"| {_fmt(s['count'])} |")
        d = mixed["delivered_per_s"]
        lines += ["", f"Delivered events/s: mean {_fmt(d['mean'])}, peak {_fmt(d['peak'])}; commands sent "
                      f"{_fmt(mixed['commands']['total'])} ({_fmt(mixed['commands']['per_s_mean'])}/s).", "",
                  f"**Verification**: {v['committed_events']:,} durable events committed for connected users, "
                  f"{v['expected_deliveries']:,} deliveries expected on {v['devices']:,} devices: "
                  f"{v['delivered_live']:,} live, {v['recovered_by_sync']:,} recovered by sync, **{v['lost']} lost**, "
                  f"{v['unexpected']} unexpected, {v['duplicates']} duplicates.", ""]
        if v["lost_ids"]:
            lines += ["Lost:", ""] + [f"- `{json.dumps(x)}`" for x in v["lost_ids"][:20]] + [""]
        if mixed["errors"]:
            lines += ["Command errors: " + ", ".join(f"{k} x{n}" for k, n in mixed["errors"].items()), ""]
        lines += ["| node | RSS start MB | RSS end MB | RSS max MB | CPU % of a core |", "|---|---|---|---|---|"]
        for node, mem in mixed["node_memory"].items():
            lines.append(f"| {node} | {_fmt(mem['start'])} | {_fmt(mem['end'])} | {_fmt(mem['max'])} | "
                         f"{_fmt(mixed['cpu_percent'].get(node))} |")
        log = mixed.get("server_log")
        if log:
            lines += ["", f"Server log: {log['lines']} warning/error lines" + (": " + "; ".join(log["top"])
                                                                              if log["top"] else ".")]
        others = {k: v for k, v in mixed["cpu_percent"].items() if k not in mixed["node_memory"]}
        lines += ["", "CPU (% of one core): " + ", ".join(f"{k} {_fmt(v)}" for k, v in others.items())
                  + " (machine: % of all cores)", "",
                  f"The load generator collected no garbage while the users ran (its own pauses would count as "
                  f"latency); its peak RSS: {_fmt(mixed['generator_max_rss_mb'])} MB.", ""]
    soak = doc.get("soak")
    if soak is not None:
        lines += ["## Soak", "", f"{soak['duration_s']:g} s, warm-up {soak['warmup_s']:g} s, windows of "
                  f"{soak['window_s']:g} s{'' if soak['evaluated'] else ' (shorter than 10 min: not a soak)'}.", "",
                  "| node | RSS growth after warm-up | slope MB/min |", "|---|---|---|"]
        for node, g in soak["memory_growth_percent"].items():
            lines.append(f"| {node} | {_fmt(g)} % | {_fmt(soak['rss_slope_mb_per_min'][node])} |")
        lines += ["", "| p99 (ms) | first window | last window | drift |", "|---|---|---|---|"]
        for kind, f in soak["p99_first_window_ms"].items():
            lines.append(f"| {kind} | {_fmt(f)} | {_fmt(soak['p99_last_window_ms'][kind])} | "
                         f"{_fmt(soak['p99_drift'][kind])} |")
        per_window = soak.get("p99_per_window_ms", {})
        if per_window:
            count = max(len(v) for v in per_window.values())
            lines += ["", f"p99 (ms) per window of {soak['window_s']:g} s, to tell a trend from a spike:", "",
                      "| kind | " + " | ".join(str(k + 1) for k in range(count)) + " |",
                      "|---|" + "---|" * count]
            for kind, values in per_window.items():
                lines.append(f"| {kind} | " + " | ".join(_fmt(v) for v in values) + " |")
        lines.append("")
    idle = doc.get("idle")
    if idle is not None:
        lines += ["## Idle sockets on one node", "",
                  f"{idle['sockets']:,} idle authenticated sockets: {_fmt(idle['kb_per_socket'])} KB RSS each after "
                  f"holding them {idle['hold_s']:g} s ({_fmt(idle['kb_per_socket_at_open'])} KB right after opening; "
                  f"RSS {idle['rss_mb']}), {_fmt(idle['connects_per_s'])} connects/s. Ping p50/p99 "
                  f"{_fmt(idle['ping_ms']['p50'])} / {_fmt(idle['ping_ms']['p99'])} ms while held "
                  f"({_fmt(idle['ping_ms_before']['p99'])} ms p99 before). Node CPU {_fmt(idle['cpu_percent'])}%.", ""]
    logins = doc.get("logins")
    if logins is not None:
        lines += ["## Logins at bcrypt cost " + str(logins["bcrypt_cost"]), "",
                  f"{logins['logins']} concurrent logins x {logins['rounds']} rounds ({logins['window_s']:g} s): login "
                  f"p50/p99 {_fmt(logins['login_ms']['p50'])} / {_fmt(logins['login_ms']['p99'])} ms, statuses "
                  f"{logins['login_status']}. Ping p99 {_fmt(logins['ping_ms_during']['p99'])} ms during the logins "
                  f"({_fmt(logins['ping_ms_before']['p99'])} ms before). Node CPU {_fmt(logins['cpu_percent'])}%.", ""]
    lines += ["## Plots", ""] + [f"![{p}]({p})" for p in doc["plots"]] + [""]
    return "\n".join(lines)


# -- plots ------------------------------------------------------------------------------------------------

def _cdf(ax: Any, values: Sequence[float], label: str) -> None:
    ordered = sorted(values)
    if not ordered:
        return
    n = len(ordered)
    ax.plot(ordered, [(k + 1) / n * 100 for k in range(n)], label=f"{label} (n={n})", linewidth=1.2)


def _log_ms(ax: Any) -> None:
    from matplotlib.ticker import FuncFormatter, NullFormatter

    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def _not_run(ax: Any, what: str) -> None:
    ax.text(0.5, 0.5, f"{what}: not run", ha="center", va="center", transform=ax.transAxes, color="grey")
    ax.set_xticks([])
    ax.set_yticks([])


def plot(doc: dict[str, Any], mixed_samples: Samples | None, ping_samples: Mapping[str, Sequence[float]],
         out: Path) -> list[str]:
    """Draw the PNGs into ``out``; return their file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mixed, idle = doc.get("mixed"), doc.get("idle")
    warmup = doc["soak"]["warmup_s"] if doc.get("soak") else None

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 5))
    if mixed_samples:
        for kind in (*DELIVERY_KINDS, "message.created (own devices)", "discovery.card"):
            _cdf(ax1, mixed_samples.get(kind, ((), ()))[1], kind)
        ax1.axvline(DELIVERY_P99_MAX_MS, color="red", linestyle="--", linewidth=1, label="50 ms target")
        ax1.axhline(99, color="grey", linestyle=":", linewidth=1)
        _log_ms(ax1)
        ax1.set_xlabel("latency, ms (log)")
        ax1.set_ylabel("% of events delivered within")
        ax1.set_title("Mixed load: command -> event on each device")
        ax1.legend(fontsize=7, loc="lower right")
    else:
        _not_run(ax1, "mixed load")
    if any(ping_samples.values()):
        for label, values in ping_samples.items():
            _cdf(ax2, values, label)
        ax2.axvline(PING_P99_MAX_MS, color="red", linestyle="--", linewidth=1, label="20 ms target")
        ax2.axhline(99, color="grey", linestyle=":", linewidth=1)
        _log_ms(ax2)
        ax2.set_xlabel("ping reply, ms (log)")
        ax2.set_title("Ping replies (idle sockets held, logins running)")
        ax2.legend(fontsize=7, loc="lower right")
    else:
        _not_run(ax2, "idle sockets and logins")
    fig.tight_layout()
    fig.savefig(out / "latency.png", dpi=90)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(11, 4))
    if mixed is not None:
        rows = mixed["timeline"]
        ax.plot([r["t"] for r in rows], [r["delivered"] for r in rows], label="events delivered/s (all devices)")
        ax.plot([r["t"] for r in rows], [r["commands"] for r in rows], label="commands sent/s")
        if warmup:
            ax.axvspan(0, warmup, color="grey", alpha=0.15, label="warm-up")
        ax.set_xlabel("seconds since the users started")
        ax.set_title("Mixed load: delivered events per second")
        ax.legend(fontsize=8)
    else:
        _not_run(ax, "mixed load")
    fig.tight_layout()
    fig.savefig(out / "events_per_s.png", dpi=90)
    plt.close(fig)

    for name, key, ylabel in (("rss.png", "rss_mb", "RSS, MB"), ("sockets.png", "sockets", "open sockets")):
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(13, 4))
        for ax, section, title in ((a1, mixed, "Mixed load"), (a2, idle, "Idle sockets, one node")):
            if section is None:
                _not_run(ax, title)
                continue
            rows = section["timeline"]
            nodes = sorted({n for r in rows for n in r[key]})
            for node in nodes:
                ax.plot([r["t"] for r in rows if node in r[key]], [r[key][node] for r in rows if node in r[key]],
                        label=node)
            if section is mixed and warmup:
                ax.axvspan(0, warmup, color="grey", alpha=0.15, label="warm-up")
            ax.set_xlabel("seconds")
            ax.set_ylabel(ylabel)
            ax.set_title(f"{title}: {ylabel} per node")
            ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / name, dpi=90)
        plt.close(fig)

    fig, ax = plt.subplots(figsize=(11, 4))
    if mixed_samples and mixed is not None:
        duration = mixed["duration_s"]
        step = 10.0 if duration >= 60 else max(1.0, duration / 6)
        starts = [k * step for k in range(int(duration // step) + 1)]
        for kind, kinds in (("deliveries (all)", DELIVERY_KINDS), ("match.created", ("match.created",)),
                            ("message.created", ("message.created",))):
            points = [(s + step / 2, summary_ms(window(mixed_samples, kinds, s, s + step))["p99"]) for s in starts]
            ax.plot([t for t, v in points if v is not None], [v for _, v in points if v is not None], marker=".",
                    label=f"{kind} p99")
        ax.axhline(DELIVERY_P99_MAX_MS, color="red", linestyle="--", linewidth=1, label="50 ms target")
        ax.set_xlabel(f"seconds (windows of {step:g} s)")
        ax.set_ylabel("p99, ms")
        ax.set_title("Mixed load: delivery p99 over time")
        ax.legend(fontsize=8)
    else:
        _not_run(ax, "mixed load")
    fig.tight_layout()
    fig.savefig(out / "p99_over_time.png", dpi=90)
    plt.close(fig)
    return list(PLOTS)


def write_samples(samples: Samples, path: Path) -> None:
    """Every latency sample as gzip CSV ``kind,t_s,latency_ms`` (t_s from ``measured_from_unix``), so that a slow
    sample can be matched with the server logs of the same moment."""
    with gzip.open(path, "wt", newline="") as f:
        out = csv.writer(f)
        out.writerow(("kind", "t_s", "latency_ms"))
        for kind in sorted(samples):
            at, latency = samples[kind]
            out.writerows((kind, f"{t:.4f}", f"{ms:.3f}") for t, ms in zip(at, latency, strict=True))


def write(doc: dict[str, Any], mixed_samples: Samples | None, ping_samples: Mapping[str, Sequence[float]],
          out: Path) -> None:
    """``summary.json``, the plots and ``report.md`` into ``out`` (created)."""
    out.mkdir(parents=True, exist_ok=True)
    doc["plots"] = plot(doc, mixed_samples, ping_samples, out)
    if mixed_samples:
        write_samples(mixed_samples, out / SAMPLES_FILE)
    (out / "summary.json").write_text(json.dumps(doc, indent=2) + "\n")
    (out / "report.md").write_text(markdown(doc))
