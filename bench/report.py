"""The report folder of ``python -m bench load``: ``summary.json``, ``report.md``, the PNG plots and every sample.

``summary.json`` holds every figure (``bench/load_figures.py``) with the run's parameters and the machine's
facts; ``report.md`` (``bench/report_markdown.py``) opens with the verdict so a reader sees at once whether
the run was healthy; the plots (``bench/report_plots.py``) show the run over time.
"""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.load_figures import Samples
from bench.report_markdown import markdown
from bench.report_plots import plot

SAMPLES_FILE = "samples.csv.gz"
SUMMARY_KEYS = ("benchmark", "params", "machine", "mixed", "soak", "idle", "logins", "targets", "healthy",
                "problems", "plots", "wall_s")
MIXED_KEYS = ("nodes", "users", "active", "sockets", "duration_s", "measured_from_unix", "generator_max_rss_mb",
              "warmup", "connect", "latency_ms", "commands",
              "command_types", "errors", "events", "delivered_per_s", "verification", "node_memory", "cpu_percent",
              "cpu_per_command", "cpu_profile", "server_log", "server_latency_ms", "timeline")
VERIFICATION_KEYS = ("committed_events", "devices", "expected_deliveries", "delivered_live", "recovered_by_sync",
                     "lost", "lost_ids", "unexpected", "unexpected_ids", "duplicates", "caught_up")
SOAK_KEYS = ("duration_s", "warmup_s", "window_s", "memory_growth_percent", "rss_slope_mb_per_min",
             "p99_first_window_ms", "p99_last_window_ms", "p99_drift", "p99_per_window_ms", "evaluated")
IDLE_KEYS = ("sockets", "rss_mb", "kb_per_socket", "kb_per_socket_at_open", "connects_per_s", "ping_ms",
             "ping_ms_before", "hold_s", "cpu_percent", "timeline")
LOGINS_KEYS = ("logins", "rounds", "bcrypt_cost", "login_ms", "login_status", "ping_ms_before", "ping_ms_during",
               "window_s", "cpu_percent")


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
