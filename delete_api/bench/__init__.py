"""``delete-api bench``: benchmarks that print figures as JSON (never pass/fail tests).

Only argument parsing lives here, so building the CLI parser stays cheap; the
benchmark itself is imported when the command runs.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from delete_api.settings import Settings


def _positive(kind: type[int] | type[float]) -> Any:
    def parse(raw: str) -> int | float:
        value = kind(raw)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {raw}")
        return value

    return parse


def cmd_bench_realtime(args: argparse.Namespace, settings: Settings) -> int:
    from delete_api.bench.realtime import run

    return run(args, settings)


def cmd_bench_load(args: argparse.Namespace, settings: Settings) -> int:
    from delete_api.bench.load import run

    return run(args, settings)


def _non_negative_fraction(raw: str) -> float:
    value = float(raw)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {raw}")
    return value


def add_parser(sub: Any) -> None:
    """Register ``bench realtime`` and ``bench load`` on the CLI's subcommands."""
    bench = sub.add_parser("bench", help="run a benchmark and print its figures as JSON",
                           description="Benchmarks: each prints one JSON document on standard output.")
    kinds = bench.add_subparsers(dest="benchmark", required=True, metavar="BENCHMARK")
    realtime = kinds.add_parser(
        "realtime", help="two nodes, N sockets: durable-event latency, throughput and memory per idle socket",
        description="Start two `delete-api serve` nodes (plus a fresh one for the memory figure) on one "
                    "machine, connect N clients and measure cross-node delivery latency of durable events, "
                    "delivered events/s per node and memory per idle authenticated socket; then measure the "
                    "same on a bare websockets relay through the same Redis (the floor) and print our "
                    "figures as ratios to it. Uses the embedded PostgreSQL and Redis (in a temporary "
                    "directory) unless DATABASE_URL/REDIS_URL are set. Progress goes to standard error.")
    realtime.add_argument("--clients", type=_positive(int), default=200,
                          help="sockets receiving events in the latency and throughput phases (default 200)")
    realtime.add_argument("--rate", type=_positive(float), default=200.0,
                          help="events/s offered in the latency phase (default 200)")
    realtime.add_argument("--duration", type=_positive(float), default=10.0,
                          help="seconds of the latency phase (default 10)")
    realtime.add_argument("--events", type=_positive(int), default=None,
                          help="send exactly this many events in the latency phase (overrides --duration)")
    realtime.add_argument("--throughput-duration", type=_positive(float), default=5.0,
                          help="seconds of the as-fast-as-possible phase (default 5)")
    realtime.add_argument("--producers", type=_positive(int), default=32,
                          help="concurrent producers in the throughput phase (default 32)")
    realtime.add_argument("--idle-sockets", type=_positive(int), default=5000,
                          help="idle authenticated sockets for the memory figure (default 5000)")
    realtime.add_argument("--data-dir",
                          help="where the embedded PostgreSQL/Redis and the node logs live "
                               "(default: a temporary directory, removed afterwards)")
    realtime.add_argument("--json-out", metavar="PATH", help="also write the JSON document to PATH")
    realtime.set_defaults(handler=cmd_bench_realtime)
    _add_load(kinds)


def _add_load(kinds: Any) -> None:
    load = kinds.add_parser(
        "load", help="the product under realistic load: mixed users, idle sockets, logins, soak; a report folder",
        description="Drive simulated app users over real sockets and write a report folder (summary.json, "
                    "report.md, PNG plots). Scenarios, each chosen by its flags (the mixed load when none is "
                    "given): --users/--active/--duration, the mixed load on two nodes (a soak when --duration "
                    ">= 600), verifying every durable event; --idle-sockets, idle authenticated sockets on one "
                    "node with ping p99 while they are held; --logins, concurrent bcrypt logins while sockets "
                    "ping. Starts its own nodes (or targets --url nodes), uses the embedded PostgreSQL and Redis "
                    "in a temporary directory unless DATABASE_URL/REDIS_URL are set. Progress goes to standard "
                    "error; a short JSON verdict to standard output.")
    mixed = load.add_argument_group("mixed load and soak")
    mixed.add_argument("--users", type=_positive(int), help="connected app users (default 2000)")
    mixed.add_argument("--active", type=_positive(int), help="of them, users who act (default a tenth)")
    mixed.add_argument("--duration", type=_positive(float),
                       help="seconds the active users run (default 60; 600 or more is a soak)")
    mixed.add_argument("--warmup", type=float, default=15.0,
                       help="seconds the users run before the measured --duration starts (default 15: first "
                            "statements, new pooled connections); reported apart")
    mixed.add_argument("--profiles", type=_positive(int),
                       help="profiles seeded (default 5x the users, at least 2000): people to swipe through")
    mixed.add_argument("--second-devices", type=_non_negative_fraction, default=0.1,
                       help="share of active users with a second device on the other node (default 0.1)")
    mixed.add_argument("--drop-every", type=_positive(float), default=180.0,
                       help="mean seconds between network drops of an active user (default 180)")
    mixed.add_argument("--restart-every", type=_positive(float), default=300.0,
                       help="mean seconds between app restarts of an active user (default 300)")
    mixed.add_argument("--progress", type=_positive(float), default=10.0,
                       help="seconds between progress lines (default 10)")
    idle = load.add_argument_group("idle sockets")
    idle.add_argument("--idle-sockets", type=_positive(int), help="idle authenticated sockets on one node")
    idle.add_argument("--hold", type=_positive(float), default=30.0,
                      help="seconds to hold them while pinging (default 30: every socket gets a heartbeat)")
    logins = load.add_argument_group("logins")
    logins.add_argument("--logins", type=_positive(int), help="concurrent REST logins while sockets ping")
    logins.add_argument("--login-rounds", type=_positive(int), default=3, help="rounds of logins (default 3)")
    logins.add_argument("--bcrypt-cost", type=int, choices=range(4, 17), default=12, metavar="4..16",
                        help="the login node's BCRYPT_COST (default 12)")
    load.add_argument("--url", action="append", metavar="URL",
                      help="target running nodes (http://host:port; repeat for two) instead of starting them; "
                           "needs the nodes' DATABASE_URL and JWT_SECRET")
    load.add_argument("--out", metavar="DIR", help="report folder (default bench-results/load-<UTC time>)")
    load.add_argument("--data-dir", help="where the embedded PostgreSQL/Redis and the node logs live "
                                         "(default: a temporary directory, removed afterwards)")
    load.add_argument("--seed", type=int, default=1, help="random seed of the profiles and the users (default 1)")
    load.add_argument("--wait-quiet", type=float, metavar="LOAD",
                      help="first wait (up to 10 min) until the 1-minute load average is at most LOAD")
    load.add_argument("--fail-unhealthy", action="store_true", help="exit 3 when the run was not healthy")
    load.set_defaults(handler=cmd_bench_load)
