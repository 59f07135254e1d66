"""`python -m bench filter`, run small: a smoke test of the command and its JSON, never of the figure."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.processes import ROOT, clean_env


def test_bench_filter_small_run_prints_the_figures_budget_and_verdict() -> None:
    """100 patterns, 3 rounds: µs per check for every length, the 5 % budget and a verdict."""
    result = subprocess.run([sys.executable, "-m", "bench", "filter", "--patterns", "100", "--rounds", "3"],
                            env=clean_env(), capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    document = json.loads(result.stdout)
    assert document["benchmark"] == "filter" and document["patterns"] == 100
    assert [row["chars"] for row in document["by_length"]] == [20, 80, 300, 1000, 2000]
    assert all(row["filter_us"] > 0 and row["shielding_us"] > 0 for row in document["by_length"])
    assert document["budget_us"] == 355.0 and document["verdict"] in ("met", "missed")
