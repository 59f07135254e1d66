"""The PNG plots of ``python -m bench load``: latency CDFs, events per second, RSS and sockets per node, p99 over
time. matplotlib (the ``bench`` extra) draws with the Agg backend: no display is needed. One function per PNG."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.load_figures import DELIVERY_KINDS, DELIVERY_P99_MAX_MS, PING_P99_MAX_MS, Samples, summary_ms, window

PLOTS = ("latency.png", "events_per_s.png", "rss.png", "sockets.png", "p99_over_time.png")


def plot(doc: dict[str, Any], mixed_samples: Samples | None, ping_samples: Mapping[str, Sequence[float]],
         out: Path) -> list[str]:
    """Draw the PNGs into ``out``; return their file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mixed, idle = doc.get("mixed"), doc.get("idle")
    warmup = doc["soak"]["warmup_s"] if doc.get("soak") else None
    _latency(plt, mixed_samples, ping_samples, out / "latency.png")
    _events_per_s(plt, mixed, warmup, out / "events_per_s.png")
    for name, key, ylabel in (("rss.png", "rss_mb", "RSS, MB"), ("sockets.png", "sockets", "open sockets")):
        _per_node(plt, mixed, idle, warmup, key, ylabel, out / name)
    _p99_over_time(plt, mixed, mixed_samples, out / "p99_over_time.png")
    return list(PLOTS)


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


def _save(plt: Any, fig: Any, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _latency(plt: Any, mixed_samples: Samples | None, ping_samples: Mapping[str, Sequence[float]],
             path: Path) -> None:
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
    _save(plt, fig, path)


def _events_per_s(plt: Any, mixed: dict[str, Any] | None, warmup: float | None, path: Path) -> None:
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
    _save(plt, fig, path)


def _per_node(plt: Any, mixed: dict[str, Any] | None, idle: dict[str, Any] | None, warmup: float | None,
              key: str, ylabel: str, path: Path) -> None:
    """``key`` of each timeline row (RSS or sockets) per node: the mixed load left, the idle sockets right."""
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
    _save(plt, fig, path)


def _p99_over_time(plt: Any, mixed: dict[str, Any] | None, mixed_samples: Samples | None, path: Path) -> None:
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
    _save(plt, fig, path)
