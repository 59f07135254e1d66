"""`python -m bench realtime`, run small: a smoke test of the command and its JSON, never of the figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.processes import ROOT, clean_env, processes_using

BENCH = [sys.executable, "-m", "bench"]
LATENCY_KEYS = {"p50", "p90", "p99", "max", "count"}


def _check_system(figures: dict[str, object], events: int, sockets: int) -> None:
    latency = figures["latency_ms"]
    assert isinstance(latency, dict) and set(latency) == LATENCY_KEYS
    assert latency["count"] == events
    assert 0 < latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["max"]
    throughput = figures["throughput_events_per_s"]
    assert isinstance(throughput, dict) and set(throughput) == {"node_a", "node_b", "total"}
    assert throughput["node_a"] > 0 and throughput["node_b"] > 0
    assert abs(throughput["total"] - throughput["node_a"] - throughput["node_b"]) < 1
    assert isinstance(figures["idle_socket_kb"], float)
    assert figures["sockets"] == sockets
    # what opening the idle sockets cost node C, the clients and the stores, next to connects/s
    connect_cpu = figures["connect_cpu_percent"]
    assert isinstance(connect_cpu, dict) and {"node_c", "bench", "machine"} <= set(connect_cpu)
    assert isinstance(figures["node_cpu_us_per_connect"], float) and figures["node_cpu_us_per_connect"] >= 0


def test_bench_realtime_help() -> None:
    """`python -m bench realtime --help` documents the options and exits 0."""
    result = subprocess.run([*BENCH, "realtime", "--help"], env=clean_env(), capture_output=True, text=True,
                            timeout=60, cwd=ROOT)
    assert result.returncode == 0
    for option in ("--clients", "--rate", "--duration", "--idle-sockets", "--data-dir", "--json-out", "--cpu-profile"):
        assert option in result.stdout


def test_bench_realtime_small_run_prints_every_figure(tmp_path: Path) -> None:
    """A tiny run prints one JSON document with every figure, writes it to --json-out and stops what it started."""
    out, profile = tmp_path / "figures.json", tmp_path / "node-c.folded"
    data = tmp_path / "bench"
    result = subprocess.run(
        [*BENCH, "realtime", "--clients", "20", "--events", "200", "--rate", "400", "--idle-sockets", "50",
         "--throughput-duration", "0.5", "--producers", "8", "--data-dir", str(data), "--json-out", str(out),
         "--cpu-profile", str(profile)],
        env=clean_env(), capture_output=True, text=True, timeout=110, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "delete: latency" in result.stderr and "floor: throughput" in result.stderr
    document = json.loads(result.stdout)
    assert json.loads(out.read_text()) == document

    assert document["machine"]["cpus"] >= 1 and document["machine"]["python"]
    assert document["params"]["clients"] == 20 and document["params"]["idle_sockets"] == 50
    _check_system(document["delete"], 200, 50)
    _check_system(document["floor"], 200, 50)
    assert document["delete"]["store_ms"]["count"] == 200 and document["delete"]["relay_ms"]["count"] == 200
    assert document["delete"]["relay_only"]["throughput_events_per_s"]["total"] > 0
    assert set(document["ratios"]) == {"p99_vs_floor", "throughput_vs_floor", "idle_kb_vs_floor", "connects_vs_floor"}
    assert all(isinstance(v, float) and v > 0 for k, v in document["ratios"].items() if k != "idle_kb_vs_floor")
    assert set(document["targets"]) == {"p99_le_3x_floor", "throughput_ge_half_floor", "idle_socket_le_30kb",
                                        "connects_ge_half_floor"}
    assert all(isinstance(v, bool) for v in document["targets"].values())
    assert "node_cpu_per_connect_vs_floor" in document["diagnostics"]
    # --cpu-profile: node C sampled while the idle sockets connected, its stacks under the node's entry point
    sampled = document["delete"]["node_c_cpu_profile"]
    assert sampled["nodes"] == 1 and "node_c_cpu_profile" not in document["floor"]
    assert profile.exists() and sampled["cpu_ms"] >= 0
    # the node's own process was sampled (under its entry point) whenever the short window caught a sample
    assert sampled["cpu_ms"] == 0 or "main (delete_api/cli.py:" in profile.read_text()
    assert processes_using(tmp_path) == []
