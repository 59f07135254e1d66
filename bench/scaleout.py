"""``python -m bench scaleout``: the mixed load of ``bench load`` with 1, 2 and 4 nodes and 1 and 3 Redis shards.

Each combination is one ``python -m bench load`` run (a child process with its own embedded PostgreSQL and
Redis, or its own throwaway Redis Cluster for 3 shards) with the same number of users per node, so a
deployment that scales answers proportionally more commands as nodes are added while its delivery p99
stays flat. Writes ``scaleout.json``, ``scaleout.md`` and ``scaleout.png`` (commands/s answered,
delivery p99 and server CPU per command against nodes, one line per shard count) into the output folder,
next to each run's own report folder, and prints the table to standard error.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.harness import say
from delete_api.settings import Settings

PLOT = "scaleout.png"
WARMUP_S = 10.0
WARMUP_PER_NODE_S = 5.0  # for each node beyond two


def warmup_for(args: argparse.Namespace, nodes: int) -> float:
    """A run's warm-up: ``--warmup`` when given, else 10 s plus 5 s per node beyond two. Every active user starts
    at once (a discovery batch each, right after thousands of sockets connected), and that start's backlog grows
    with the users: with 10 s at 4 and 8 nodes it spilled into the measured window and made its p99
    (docs/scaling.md, part 6). The window should measure the steady load; a storm of connects is part 3's."""
    if args.warmup is not None:
        return float(args.warmup)
    return WARMUP_S + WARMUP_PER_NODE_S * max(0, nodes - 2)


def run_argv(args: argparse.Namespace, nodes: int, shards: int, out: Path) -> list[str]:
    """The ``bench load`` command line of one combination."""
    users = args.users_per_node * nodes
    active = max(1, round(users * args.active_fraction))
    return [sys.executable, "-m", "bench", "load", "--users", str(users), "--active", str(active),
            "--duration", f"{args.duration:g}", "--warmup", f"{warmup_for(args, nodes):g}", "--nodes", str(nodes),
            "--redis-shards", str(shards), "--profiles", str(users * 2 + 100), "--progress", "30",
            "--out", str(out)]


def figures_of(summary: dict[str, Any], nodes: int, shards: int) -> dict[str, Any]:
    """The row of one run: what it offered, what it answered and delivered, how fast, at what CPU."""
    mixed = summary.get("mixed") or {}
    window = (mixed.get("cpu_per_command") or {})
    duration = mixed.get("duration_s") or 0
    deliveries = (mixed.get("latency_ms") or {}).get("deliveries (all)") or {}
    answered = window.get("commands")
    return {"nodes": nodes, "redis_shards": shards, "users": mixed.get("users"), "active": mixed.get("active"),
            "commands_per_s": round(answered / duration, 1) if answered and duration else None,
            "delivered_per_s": (mixed.get("delivered_per_s") or {}).get("mean"),
            "delivery_p50_ms": deliveries.get("p50"), "delivery_p99_ms": deliveries.get("p99"),
            "cpu_ms_per_command": window.get("ms"), "warmup_s": (mixed.get("warmup") or {}).get("seconds"),
            "lost": ((mixed.get("verification") or {}).get("lost")),
            "other_load_percent_of_core": (summary.get("machine") or {}).get("other_load_percent_of_core"),
            "healthy": summary.get("healthy")}


def table(rows: list[dict[str, Any]]) -> list[str]:
    """The Markdown table of the rows."""
    lines = ["| nodes | Redis shards | users (active) | commands/s | delivered/s | delivery p50 / p99 ms "
             "| CPU ms per command | events lost |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['nodes']} | {r['redis_shards']} | {r['users']} ({r['active']}) | {r['commands_per_s']} "
                     f"| {r['delivered_per_s']} | {r['delivery_p50_ms']} / {r['delivery_p99_ms']} "
                     f"| {r['cpu_ms_per_command']} | {r['lost']} |")
    return lines


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    """Commands/s, delivery p99 and CPU per command against nodes, one line per shard count."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    panels = (("commands_per_s", "commands answered per s"), ("delivery_p99_ms", "delivery p99, ms"),
              ("cpu_ms_per_command", "server CPU per command, ms"))
    for ax, (key, label) in zip(axes, panels, strict=True):
        for shards in sorted({r["redis_shards"] for r in rows}):
            points = [(r["nodes"], r[key]) for r in rows if r["redis_shards"] == shards and r[key] is not None]
            if points:
                ax.plot(*zip(*points, strict=True), marker="o", label=f"{shards} Redis shard{'s' * (shards > 1)}")
        ax.set_xlabel("nodes")
        ax.set_ylabel(label)
        ax.set_xticks(sorted({r["nodes"] for r in rows}))
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("bench scaleout: the same users per node, on one 2-core machine with the load generator")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _one(args: argparse.Namespace, nodes: int, shards: int, out: Path) -> dict[str, Any]:
    folder = out / f"nodes{nodes}-shards{shards}"
    argv = run_argv(args, nodes, shards, folder)
    say(f"scaleout: {nodes} node(s), {shards} Redis shard(s): {' '.join(argv[2:])}")
    done = subprocess.run(argv, check=False,  # noqa: S603 - our own argv
                          stdout=sys.stderr)  # its verdict is progress here; our stdout is the JSON
    summary_path = folder / "summary.json"
    if not summary_path.exists():
        say(f"scaleout: that run wrote no summary (exit {done.returncode}); its row stays empty")
        return {**figures_of({}, nodes, shards), "healthy": False}
    return figures_of(json.loads(summary_path.read_text()), nodes, shards)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run every combination, then write the JSON, the table and the plot; 1 when no run produced figures."""
    del settings  # each run resolves its own (the child inherits the environment)
    out = Path(args.out or Path("bench-results") / f"scaleout-{datetime.now(UTC):%Y%m%d-%H%M%S}").absolute()
    out.mkdir(parents=True, exist_ok=True)
    rows = [_one(args, nodes, shards, out) for shards in args.redis_shards for nodes in args.nodes]
    if not any(r["commands_per_s"] for r in rows):
        print("bench: no run of the scale-out produced figures (see the runs' output above)", file=sys.stderr)
        return 1
    lines = table(rows)
    (out / "scaleout.md").write_text("\n".join(lines) + "\n")
    plot(rows, out / PLOT)
    doc = {"benchmark": "scaleout", "command": "python -m bench " + " ".join(sys.argv[1:]), "rows": rows,
           "plot": str(out / PLOT)}
    (out / "scaleout.json").write_text(json.dumps(doc, indent=2) + "\n")
    for line in lines:
        say(line)
    print(json.dumps(doc, indent=2))
    return 0
