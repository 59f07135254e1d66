"""The server's Prometheus metrics (prometheus-client), defined once; the transports and adapters record them.

Names start with ``delete_``; no label carries a user id, an email, a token or a raw path (commands are
labelled with registered command types only, REST with route templates). With several worker processes
(``delete-api serve --workers N``) the library's multiprocess mode aggregates every worker
(``PROMETHEUS_MULTIPROC_DIR``, set by ``serve`` before the workers start): gauges of live values are summed over
live workers. Docs: README "Operating Delete".
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import Any, TypeVar, cast

from prometheus_client import Counter, Gauge, Histogram

RECORDING = os.environ.get("METRICS_RECORDING", "on").strip().lower() != "off"
"""``METRICS_RECORDING=off`` records nothing (read here, at import, before any metric exists; the settings check
the value): the way to measure what recording costs, as ``python -m bench overhead`` does."""


class _Off:
    """A metric that records nothing."""

    def labels(self, *values: str) -> _Off:
        return self

    def inc(self, amount: float = 1) -> None:
        return None

    def dec(self, amount: float = 1) -> None:
        return None

    def set(self, value: float) -> None:
        return None

    def observe(self, amount: float) -> None:
        return None


_OFF = _Off()
M = TypeVar("M", Counter, Gauge, Histogram)


def _counter(name: str, doc: str, labels: Sequence[str] = ()) -> Counter:
    return Counter(name, doc, labels) if RECORDING else cast(Counter, _OFF)


def _gauge(name: str, doc: str, labels: Sequence[str] = (), **mode: Any) -> Gauge:
    return Gauge(name, doc, labels, **mode) if RECORDING else cast(Gauge, _OFF)


def _histogram(name: str, doc: str, labels: Sequence[str] = (), **buckets: Any) -> Histogram:
    return Histogram(name, doc, labels, **buckets) if RECORDING else cast(Histogram, _OFF)


def labelled(metric: M, *values: str) -> M:
    """``metric.labels(*values)``, looked up once per set of values: the child stays the same object for the
    process's life (no metric here ever removes one), and ``labels`` validates and locks on every call (with the
    counters' increments, about 3 % of a busy node's CPU on the command path)."""
    return cast(M, _child(metric, values))


@functools.cache
def _child(metric: Any, values: tuple[str, ...]) -> Any:
    return metric.labels(*values)


LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

build_info = _gauge("delete_build_info", "Always 1; the version serving.", ["version"], multiprocess_mode="max")

sockets_open = _gauge("delete_sockets_open", "Authenticated sockets open on this node.", multiprocess_mode="livesum")
users_online = _gauge("delete_users_online", "Distinct users with at least one socket on this node (per worker, "
                     "summed over workers).", multiprocess_mode="livesum")
socket_connects = _counter("delete_socket_connects_total", "Socket upgrades by outcome: ok, or the close code that "
                          "refused them (4401, 4403, 4408, 1008, 1011, 1013 ...).", ["outcome"])
socket_closes = _counter("delete_socket_closes_total", "Authenticated sockets closed, by close code (client: closed "
                        "by the client or the network).", ["code"])
slow_consumer_closes = _counter("delete_slow_consumer_closes_total", "Sockets closed with 1013 because their outbox "
                               "overflowed (the client read too slowly).")

commands = _counter("delete_commands_total", "Socket commands by type and outcome (ok or the error code).",
                   ["command", "outcome"])
command_duration = _histogram("delete_command_duration_seconds", "Socket command latency, from a frame read to its "
                             "reply queued.", ["command"], buckets=LATENCY_BUCKETS)

http_requests = _counter("delete_http_requests_total", "REST requests by route template, method and status.",
                        ["route", "method", "status"])
http_duration = _histogram("delete_http_request_duration_seconds", "REST latency by route template and method.",
                          ["route", "method"], buckets=LATENCY_BUCKETS)

events_published = _counter("delete_events_published_total", "Hub messages published after commit: durable (each "
                           "appended durable event once), ephemeral, control.", ["kind"])
events_delivered = _counter("delete_events_delivered_total", "Events written to sockets: durable, ephemeral.",
                           ["kind"])
delivery_lag = _histogram("delete_event_delivery_lag_seconds", "Durable events: publication after commit to the "
                         "write on a socket (cross-node included).", buckets=LATENCY_BUCKETS)
replays = _counter("delete_replays_total", "Durable-event replays: sync (asked by the client), resume (last_seq at "
                  "connect), catchup (after this node resubscribed to Redis).", ["reason"])
replayed_events = _counter("delete_replayed_events_total", "Durable events sent by replays, by reason.", ["reason"])

redis_publish_retries = _counter("delete_redis_publish_failures_total", "Publishes that failed and went to the retry "
                                "buffer (Redis unreachable).")
redis_resubscribes = _counter("delete_redis_resubscribes_total", "Times this node reconnected its Redis subscription "
                             "(each makes its sockets catch up).")

db_round_trips = _counter("delete_db_round_trips_total", "Requests sent to PostgreSQL that wait for its answer, by "
                         "kind: statement (SQL), begin, commit, rollback.", ["kind"])
# pool="primary" (DATABASE_URL) or "replica" (DATABASE_READ_URL, when set)
db_pool_checked_out = _gauge("delete_db_pool_checked_out", "PostgreSQL connections in use, by pool (primary, "
                             "replica).", ["pool"], multiprocess_mode="livesum")
db_pool_size = _gauge("delete_db_pool_size", "PostgreSQL connections the pool keeps, by pool (primary, replica).",
                      ["pool"], multiprocess_mode="livesum")
db_pool_overflow = _gauge("delete_db_pool_overflow", "PostgreSQL connections beyond the pool size (negative: idle "
                         "room left), by pool (primary, replica).", ["pool"], multiprocess_mode="livesum")

mail_outbox_depth = _gauge("delete_mail_outbox_pending", "Mails waiting to be sent.", multiprocess_mode="max")
mail_outbox_oldest = _gauge("delete_mail_outbox_oldest_seconds", "Age of the oldest mail waiting.",
                           multiprocess_mode="max")
