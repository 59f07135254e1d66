"""`python -m bench discovery`, run small: a smoke test of the command, its JSON and its server settings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.processes import ROOT, clean_env


def test_bench_discovery_small_run_times_batches_on_a_server_with_the_asked_shared_buffers(tmp_path: Path) -> None:
    """2,000 seeded people, 10 viewers: full batches timed, the server's own shared_buffers recorded, no verdict
    for a size without a target."""
    out = tmp_path / "discovery.json"
    result = subprocess.run([sys.executable, "-m", "bench", "discovery", "--sizes", "2000", "--viewers", "10",
                             "--viewers-without", "0", "--shared-buffers", "48MB", "--data-dir", str(tmp_path),
                             "--json-out", str(out)],
                            env=clean_env(), capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    document = json.loads(out.read_text())
    [size] = document["results"]
    assert size["users"] == 2000 and size["shared_buffers"] == "48MB"
    timed = size["with_indexes"]
    assert timed["samples"] == 10 and 0 < timed["p50_ms"] <= timed["p95_ms"]
    assert timed["cards_per_batch_mean"] > 0
    assert document["targets"] == {}
    assert "shared_buffers 48MB" in result.stderr
