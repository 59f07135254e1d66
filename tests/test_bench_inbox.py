"""`python -m bench inbox`, run small: a smoke test of the command and its JSON, never of the figure."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.pg import PostgresHandle
from tests.support.processes import ROOT, clean_env
from tests.support.settings import TEST_JWT_SECRET


def test_bench_inbox_small_run_pages_through_every_match(postgres: PostgresHandle) -> None:
    """120 matches page in three pages of 50 per round: the page count, percentiles and verdict are printed."""
    env = clean_env(DATABASE_URL=postgres.url("postgres"), JWT_SECRET=TEST_JWT_SECRET)
    result = subprocess.run([sys.executable, "-m", "bench", "inbox", "--matches", "120", "--messages", "3",
                             "--rounds", "2"], env=env, capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    document = json.loads(result.stdout)
    assert document["benchmark"] == "inbox" and document["pages"] == 2 * 3
    assert 0 < document["p50_ms"] <= document["p95_ms"] <= document["p99_ms"] <= document["max_ms"]
    assert document["verdict"] in ("met", "missed") and document["target_p95_ms"] == 50.0
