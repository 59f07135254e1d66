"""`python -m bench load`, run tiny: a smoke test of the command and its report folder, never of the figures."""

from __future__ import annotations

import csv
import gzip
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from bench import report, report_plots
from tests.support.processes import ROOT, clean_env, processes_using

BENCH = [sys.executable, "-m", "bench"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_bench_load_help() -> None:
    """`python -m bench load --help` names every scenario's flags and exits 0."""
    result = subprocess.run([*BENCH, "load", "--help"], env=clean_env(), capture_output=True, text=True,
                            timeout=60, cwd=ROOT)
    assert result.returncode == 0
    for option in ("--users", "--active", "--duration", "--idle-sockets", "--logins", "--bcrypt-cost", "--url",
                   "--out"):
        assert option in result.stdout


@pytest.mark.timeout(300)
def test_bench_load_tiny_run_writes_the_whole_report_and_loses_nothing(tmp_path: Path) -> None:
    """A tiny run of every scenario writes summary.json with every key, report.md and the plots, losing no event."""
    out = tmp_path / "report"
    data = tmp_path / "bench"
    result = subprocess.run(
        [*BENCH, "load", "--users", "12", "--active", "6", "--duration", "4", "--warmup", "2", "--progress", "2",
         "--idle-sockets", "20", "--hold", "1", "--logins", "2", "--login-rounds", "1", "--cpu-profile",
         "--out", str(out),
         "--data-dir", str(data)],
        env=clean_env(), capture_output=True, text=True, timeout=280, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "mixed: verification" in result.stderr and "t=" in result.stderr  # progress while it runs
    verdict = json.loads(result.stdout)
    assert verdict["report"] == str(out)

    summary = json.loads((out / "summary.json").read_text())
    assert set(report.SUMMARY_KEYS) <= set(summary)
    assert summary["params"]["scenarios"] == ["mixed", "idle", "logins"]
    assert summary["machine"]["cpus"] >= 1 and "1m" in summary["machine"]["load_average"]
    mixed = summary["mixed"]
    assert set(report.MIXED_KEYS) <= set(mixed)
    assert mixed["users"] == 12 and mixed["active"] == 6 and mixed["connect"]["failed"] == 0
    assert set(report.SOAK_KEYS) <= set(summary["soak"])
    assert set(report.IDLE_KEYS) <= set(summary["idle"]) and summary["idle"]["sockets"] == 20
    assert set(report.LOGINS_KEYS) <= set(summary["logins"])
    assert summary["logins"]["login_status"] == {"200": 2}

    verification = mixed["verification"]
    assert set(report.VERIFICATION_KEYS) <= set(verification)
    assert verification["lost"] == 0 and verification["lost_ids"] == [], verification
    assert verification["unexpected"] == 0 and verification["duplicates"] == 0
    assert verification["caught_up"] is True
    assert verification["delivered_live"] + verification["recovered_by_sync"] == verification["expected_deliveries"]
    assert set(summary["targets"]) >= {"mixed_zero_durable_events_lost", "idle_ping_p99_le_20ms",
                                       "logins_ping_p99_le_20ms", "soak_memory_growth_le_5pct"}
    assert summary["targets"]["mixed_zero_durable_events_lost"]["met"] is True

    server = mixed["server_latency_ms"]  # the nodes' own histograms over the measured window
    assert server["commands"] and all(v["count"] > 0 and v["p50"] <= v["p99"] for v in server["commands"].values())
    assert "The servers' own view" in (out / "report.md").read_text()
    per_command = mixed["cpu_per_command"]  # the nodes' CPU over the window / commands answered in it
    assert per_command["commands"] > 0 and per_command["ms"] > 0
    assert set(per_command["node_cpu_s"]) == set(mixed["nodes"])
    assert "Server CPU per command: " in (out / "report.md").read_text()
    assert "mixed: server CPU per command: " in result.stderr
    profile = mixed["cpu_profile"]  # --cpu-profile: both nodes sampled over the window, merged
    assert profile["nodes"] == 2 and profile["cpu_ms"] > 0 and profile["self"] and profile["packages"]
    folded = (out / "cpu-profile.folded").read_text()
    assert "main (delete_api/cli.py:" in folded  # the nodes' own process was sampled, under its entry point
    assert "## CPU profile of the nodes" in (out / "report.md").read_text() and "cpu profile: " in result.stderr
    assert (out / "report.md").read_text().startswith("# Load report: ")
    assert summary["plots"] == list(report_plots.PLOTS)
    for name in report_plots.PLOTS:
        assert (out / name).read_bytes()[:8] == PNG_MAGIC, name
    with gzip.open(out / report.SAMPLES_FILE, "rt") as f:  # every sample, to match slow ones with server logs
        rows = list(csv.DictReader(f))
    kinds = {kind: row["count"] for kind, row in mixed["latency_ms"].items() if kind != "deliveries (all)"}
    assert rows and Counter(r["kind"] for r in rows) == kinds
    assert all(float(r["t_s"]) >= 0 and float(r["latency_ms"]) >= 0 for r in rows)
    assert mixed["measured_from_unix"] > 1.7e9 and mixed["generator_max_rss_mb"] > 10
    assert processes_using(tmp_path) == []
