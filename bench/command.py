"""The ``python -m bench`` command: the arguments of every benchmark, and running the one asked for.

Only argument parsing lives here, so ``--help`` stays cheap; a benchmark's module (``bench.<name>``, with a
``run`` function) is imported when it runs. ``realtime``, ``discovery`` and ``load`` read the server's
settings from the environment as ``delete-api`` does (the embedded PostgreSQL and Redis unless
``DATABASE_URL``/``REDIS_URL``); ``roundtrips`` reads ``DATABASE_URL``/``REDIS_URL`` itself.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence

from delete_api.settings import Settings, SettingsError


def _positive(kind: type[int] | type[float]) -> Callable[[str], int | float]:
    def parse(raw: str) -> int | float:
        value = kind(raw)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {raw}")
        return value

    return parse


def _fraction(raw: str) -> float:
    value = float(raw)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {raw}")
    return value


def _sizes(raw: str) -> list[int]:
    return [int(v) for v in raw.split(",")]


def _add_realtime(kinds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    realtime.add_argument("--cpu-profile", metavar="PATH",
                          help="sample node C's Python stack by CPU time (bench.cpu_profile) while the idle sockets "
                               "connect: the top functions and packages in the document and on standard error, the "
                               "merged stacks written to PATH (folded, for flame-graph tools and speedscope)")
    realtime.add_argument("--redis-shards", type=int, choices=(1, 3), default=1,
                          help="1: one Redis (default); 3: a throwaway Redis Cluster of 3 masters with a replica "
                               "each (redis-server 7 on PATH) in the work folder, the nodes on sharded pub/sub "
                               "(the floor relays use classic pub/sub on it)")


def _add_discovery(kinds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = kinds.add_parser(
        "discovery", help="latency of one discovery batch at 100k and 1M users, with and without indexes",
        description="Seed 100k and 1M demo users (bulk COPY) into throwaway databases (the embedded PostgreSQL "
                    "in a temporary directory, or databases created by name on the server of DATABASE_URL), time "
                    "one discovery batch (the query and the card load) for a sample of typical viewers with the "
                    "discovery indexes and without them, and print p50/p95, the targets met or missed (p95 <= "
                    "10 ms at 100k, <= 15 ms at 1M) and the EXPLAIN (ANALYZE, BUFFERS) plan at the largest size "
                    "as JSON. Progress goes to standard error. Seeding 1M takes several minutes; "
                    "--sizes 10000,100000 is the quick run.")
    parser.add_argument("--sizes", type=_sizes, default=[100_000, 1_000_000],
                        help="comma-separated user counts (default 100000,1000000)")
    parser.add_argument("--viewers", type=int, default=300, help="viewers timed with the indexes (default 300)")
    parser.add_argument("--viewers-without", type=int, default=20,
                        help="viewers timed without the indexes (default 20; 0 skips that part)")
    parser.add_argument("--count", type=int, default=10, help="cards per batch (default 10)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the generated users (default 1)")
    parser.add_argument("--data-dir", help="where the embedded PostgreSQL lives (default: a temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark databases afterwards")
    parser.add_argument("--reuse", action="store_true",
                        help="time again on the databases an earlier --keep run left in --data-dir (no seeding; "
                             "they are kept)")
    parser.add_argument("--shared-buffers", default="4GB",
                        help="shared_buffers of the embedded PostgreSQL (default 4GB, what a server for 1M people "
                             "gives it: the 1M database is 3.4 GB; PostgreSQL's own default, 128MB, leaves it "
                             "in the OS page cache); ignored with DATABASE_URL")
    parser.add_argument("--json-out", metavar="PATH", help="also write the JSON document to PATH")


def _add_load(kinds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    load = kinds.add_parser(
        "load", help="the product under realistic load: mixed users, idle sockets, logins, soak; a report folder",
        description="Drive simulated app users over real sockets and write a report folder (summary.json, "
                    "report.md, PNG plots). Scenarios, each chosen by its flags (the mixed load when none is "
                    "given): --users/--active/--duration, the mixed load on two nodes (a soak when --duration "
                    ">= 600), verifying every durable event; --idle-sockets, idle authenticated sockets on one "
                    "node with ping p99 while they are held; --logins, concurrent bcrypt logins while sockets "
                    "ping; --restart-sockets, a rolling restart (SIGTERM, 1012) of a node holding N sockets whose "
                    "clients resume on the other node. Starts its own nodes (or targets --url nodes), uses the "
                    "embedded PostgreSQL and Redis "
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
    mixed.add_argument("--second-devices", type=_fraction, default=0.1,
                       help="share of active users with a second device on the other node (default 0.1)")
    mixed.add_argument("--drop-every", type=_positive(float), default=180.0,
                       help="mean seconds between network drops of an active user (default 180)")
    mixed.add_argument("--restart-every", type=_positive(float), default=300.0,
                       help="mean seconds between app restarts of an active user (default 300)")
    mixed.add_argument("--nodes", type=int, choices=range(1, 9), default=2, metavar="1..8",
                       help="nodes the users are spread over, round robin (default 2)")
    mixed.add_argument("--cpu-profile", action="store_true",
                       help="sample each node's Python stack per millisecond of its CPU over the measured window "
                            "(bench.cpu_profile): the top functions and packages in the report, the stacks in "
                            "cpu-profile.folded; needs nodes this command starts (not --url)")
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
    restart = load.add_argument_group("rolling restart (reconnect storm)")
    restart.add_argument("--restart-sockets", type=_positive(int),
                         help="sockets on a node that gets SIGTERM: every client resumes on the other node "
                              "(target 5000: all within 15 s, 0 events lost, <= 2 database round trips per resume)")
    restart.add_argument("--restart-rate", type=_positive(float), default=100.0,
                         help="durable events/s to those users during the restart (default 100)")
    load.add_argument("--redis-shards", type=int, choices=(1, 3), default=1,
                      help="1: one Redis (default); 3: a throwaway Redis Cluster of 3 masters with a replica each "
                           "(redis-server 7 on PATH) in the work folder, the nodes on sharded pub/sub")
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


def _add_roundtrips(kinds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    roundtrips = kinds.add_parser(
        "roundtrips", help="PostgreSQL statements, transactions, pool pings and Redis commands per socket command",
        description="Start the real app in this process (the embedded PostgreSQL and Redis in a temporary "
                    "directory, or DATABASE_URL/REDIS_URL), make a few complete profiles and run each command "
                    "of the load mix several times over a real socket, counting through SQLAlchemy's and "
                    "redis-py's hooks what each one sends and what it leaves in reference cycles. Prints one "
                    "JSON document: per command, the counts per call, the median wall time and the CPU time.")
    roundtrips.add_argument("--pre-ping", action="store_true",
                            help="the engine as it was: SQLAlchemy's own three-round-trip ping on every checkout")


def _add_commandcpu(kinds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    commandcpu = kinds.add_parser(
        "commandcpu", help="the server's own CPU per socket command, one command kind at a time",
        description="Start the real app in this process (the embedded PostgreSQL and Redis in a temporary "
                    "directory, or DATABASE_URL/REDIS_URL) and drive it from a client in another process: each "
                    "round runs every command kind of the load mix --calls times, paced as an active user, and an "
                    "idle stretch whose CPU is subtracted. Prints one JSON document: per command kind, the "
                    "server's CPU per call (median over the rounds, and each round's).")
    commandcpu.add_argument("--calls", type=int, choices=range(1, 25), default=20, metavar="1..24",
                            help="calls per command kind and round (default 20)")
    commandcpu.add_argument("--rounds", type=int, choices=range(1, 21), default=3, metavar="1..20",
                            help="rounds (default 3)")


def _add_mail(kinds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    mail = kinds.add_parser(
        "mail", help="mails per second the outbox sender hands to a local SMTP server (target 50/s)",
        description="Commit N mails to the outbox of a throwaway database (the embedded PostgreSQL in a temporary "
                    "directory, or a database created on the server of DATABASE_URL), send them with the real "
                    "mail sender over SMTP to an aiosmtpd server in this process, and print the rate and whether "
                    "it meets 50 mails/s as JSON. Progress goes to standard error.")
    mail.add_argument("--mails", type=_positive(int), default=2000, help="mails to send (default 2000)")
    mail.add_argument("--senders", type=_positive(int), default=1,
                      help="senders on their own engines, as nodes (default 1)")
    mail.add_argument("--batch", type=_positive(int), default=20, help="mails claimed per batch (default 20)")
    mail.add_argument("--timeout", type=_positive(float), default=300.0,
                      help="seconds to wait for every mail (default 300)")
    mail.add_argument("--json-out", metavar="PATH", help="also write the JSON document to PATH")


def _add_inbox(kinds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    inbox = kinds.add_parser(
        "inbox", help="matches.list latency (unread counts, newest messages) for a person with 500 matches",
        description="Seed one person with N matches full of messages in a throwaway database (the embedded "
                    "PostgreSQL in a temporary directory, or one created on the server of DATABASE_URL), page "
                    "through their matches.list (50 a page) through the domain service several times and print "
                    "p50/p95/p99 per page as JSON, met/missed against p95 <= 50 ms. Progress on standard error.")
    inbox.add_argument("--matches", type=_positive(int), default=500, help="matches of the person (default 500)")
    inbox.add_argument("--messages", type=int, default=40, help="messages per match (default 40)")
    inbox.add_argument("--rounds", type=_positive(int), default=30,
                       help="times to page through every match (default 30)")
    inbox.add_argument("--json-out", metavar="PATH", help="also write the JSON document to PATH")


def _add_filter(kinds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = kinds.add_parser(
        "filter", help="µs per message of the content filter (1,000 patterns) and contact shielding",
        description="Compile a word list of N patterns and time the content filter and contact shielding on "
                    "messages of typical lengths; print µs per check, the budget (5 %% of the load bench's "
                    "messages.send p50) and whether it is met, as JSON. Needs no database.")
    check.add_argument("--patterns", type=_positive(int), default=1000, help="patterns on the list (default 1000)")
    check.add_argument("--rounds", type=_positive(int), default=200, help="checks per message (default 200)")
    check.add_argument("--json-out", metavar="PATH", help="also write the JSON document to PATH")


def _add_scrape(kinds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    scrape = kinds.add_parser(
        "scrape", help="Prometheus scrape time with 10,000 sockets open on one node (target p95 < 50 ms)",
        description="Start one node with METRICS_PORT (the embedded PostgreSQL and Redis in a temporary directory "
                    "unless DATABASE_URL/REDIS_URL are set), open N authenticated sockets, time GET /metrics while "
                    "a probe socket pings every 100 ms, and print the scrape times and the probe's round trips with "
                    "and without scrapes as JSON. Progress goes to standard error.")
    scrape.add_argument("--sockets", type=_positive(int), default=10_000, help="sockets to open (default 10000)")
    scrape.add_argument("--scrapes", type=_positive(int), default=30, help="scrapes to time (default 30)")
    scrape.add_argument("--json-out", metavar="PATH", help="also write the JSON document to PATH")


def _add_overhead(kinds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    overhead = kinds.add_parser(
        "overhead", help="messages.send round trip with metrics recorded and not, in one run (target <= 5 %%)",
        description="Start two nodes together (the embedded PostgreSQL and Redis in a temporary directory unless "
                    "DATABASE_URL/REDIS_URL are set), one with METRICS_RECORDING=off; on each, matched pairs send "
                    "messages at the same time; print both round-trip distributions and the overhead of recording "
                    "on the p50 as JSON. Progress goes to standard error.")
    overhead.add_argument("--pairs", type=_positive(int), default=8, help="matched pairs per node (default 8)")
    overhead.add_argument("--rate", type=_positive(float), default=10.0,
                          help="sends per second per sender (default 10; the socket limit is 20)")
    overhead.add_argument("--duration", type=_positive(float), default=20.0, help="seconds (default 20)")
    overhead.add_argument("--json-out", metavar="PATH", help="also write the JSON document to PATH")


def _counts(raw: str) -> list[int]:
    try:
        values = [int(v) for v in raw.split(",") if v.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"comma-separated counts, got {raw}") from exc
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"comma-separated positive counts, got {raw}")
    return values


def _add_scaleout(kinds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    scaleout = kinds.add_parser(
        "scaleout", help="the mixed load with 1, 2, 4 nodes and 1, 3 Redis shards: throughput and p99 per node count",
        description="Run `python -m bench load`'s mixed load once per combination of --nodes and --redis-shards "
                    "(each run its own embedded PostgreSQL and Redis, or a throwaway Redis Cluster for 3 shards), "
                    "with the same users per node; write scaleout.json, scaleout.md and scaleout.png (commands/s, "
                    "delivery p99 and server CPU per command against nodes) into --out, each run's report folder "
                    "beside them. Progress goes to standard error.")
    scaleout.add_argument("--nodes", type=_counts, default=[1, 2, 4], help="node counts (default 1,2,4)")
    scaleout.add_argument("--redis-shards", type=_counts, default=[1, 3], help="shard counts, 1 or 3 (default 1,3)")
    scaleout.add_argument("--users-per-node", type=_positive(int), default=1000, help="users per node (default 1000)")
    scaleout.add_argument("--active-fraction", type=_fraction, default=0.2,
                          help="of them, the share who act (default 0.2)")
    scaleout.add_argument("--duration", type=_positive(float), default=30.0,
                          help="measured seconds per run (default 30)")
    scaleout.add_argument("--warmup", type=_positive(float), default=None,
                          help="warm-up seconds per run (default 10, plus 5 per node beyond two: 20 at 4 nodes, "
                               "40 at 8; the start's backlog grows with the users)")
    scaleout.add_argument("--out", metavar="DIR", help="output folder (default bench-results/scaleout-<UTC time>)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench",
                                     description="Benchmarks of the Delete server: each prints its figures "
                                                 "(JSON on standard output, or a report folder).")
    kinds = parser.add_subparsers(dest="benchmark", required=True, metavar="BENCHMARK")
    _add_realtime(kinds)
    _add_discovery(kinds)
    _add_load(kinds)
    _add_roundtrips(kinds)
    _add_commandcpu(kinds)
    _add_mail(kinds)
    _add_inbox(kinds)
    _add_filter(kinds)
    _add_scrape(kinds)
    _add_overhead(kinds)
    _add_scaleout(kinds)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m bench``: the benchmark's exit code (2 on a configuration error)."""
    args = build_parser().parse_args(argv)
    benchmark = importlib.import_module(f"bench.{args.benchmark}")
    if args.benchmark in ("roundtrips", "commandcpu"):  # own server in this process; DATABASE_URL alone suffices
        return int(benchmark.run(args))
    if args.benchmark == "filter":  # pure computation: no settings at all
        return int(benchmark.run(args))
    try:
        settings = Settings.from_env()
        logging.basicConfig(level=settings.log_level.upper(),
                            format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
        return int(benchmark.run(args, settings))
    except SettingsError as exc:
        print(f"bench: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
