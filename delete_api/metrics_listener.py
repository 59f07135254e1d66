"""The Prometheus listener: ``GET /metrics`` on ``METRICS_PORT``, apart from the app's port.

One process (``serve`` without ``--workers``): the library's default registry, served by its HTTP server on a
thread of the process (a scrape formats counters already kept; it does not wait on the event loop).
Several workers: before any worker starts, ``serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh folder
under ``DATA_DIR``; every worker then keeps its values in files there, and the listener, in the supervising
process, sums them (``MultiProcessCollector``). A port that cannot be bound is logged and skipped: the app
still serves.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from delete_api.settings import Settings

log = logging.getLogger("delete_api.metrics")
EMBEDDED_DEFAULT_PORT = 9100
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def metrics_port(settings: Settings) -> int | None:
    """``METRICS_PORT``; unset: 9100 in the embedded default (``./dev serve`` shows metrics), else off."""
    if settings.metrics_port is not None:
        return settings.metrics_port
    return EMBEDDED_DEFAULT_PORT if settings.embedded_database else None


def prepare_multiprocess(data_dir: Path) -> Path:
    """A fresh folder for the workers' metric files, set in the environment before prometheus-client loads."""
    folder = data_dir / f"metrics-{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(folder)
    return folder


def start_listener(host: str, port: int) -> bool:
    """Serve the metrics on ``host:port`` from a thread; aggregate the workers' files in multiprocess mode."""
    from prometheus_client import REGISTRY, CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = REGISTRY
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # unannotated in prometheus-client
    try:
        start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        log.warning("metrics listener not started on %s:%d (%s); the app serves without it", host, port, exc)
        return False
    return True
