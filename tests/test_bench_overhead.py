"""`python -m bench overhead`, run small: a smoke test of the command and its JSON, never of the figure."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.pg import PostgresHandle, create_database, fresh_name
from tests.support.processes import ROOT, clean_env
from tests.support.settings import TEST_JWT_SECRET


def test_bench_overhead_small_run_prints_both_distributions_and_the_overhead(postgres: PostgresHandle,
                                                                             redis_url: str) -> None:
    """One pair per node for 2 s: both nodes' round trips, the overhead on the p50 and a verdict."""
    database = create_database(postgres, fresh_name("bench_overhead"), migrated=False)  # the bench migrates it
    env = clean_env(DATABASE_URL=database, REDIS_URL=redis_url, JWT_SECRET=TEST_JWT_SECRET)
    result = subprocess.run([sys.executable, "-m", "bench", "overhead", "--pairs", "1", "--duration", "2"], env=env,
                            capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    document = json.loads(result.stdout)
    assert document["benchmark"] == "overhead" and set(document["round_trip_ms"]) == {"recording", "not_recording"}
    for figures in document["round_trip_ms"].values():
        assert figures["count"] >= 5 and 0 < figures["p50"] <= figures["p99"]
    assert isinstance(document["overhead_p50_percent"], float)
    assert document["verdict"] in ("met", "missed") and document["target_overhead_percent"] == 5.0
