"""`python -m bench scrape`, run small: a smoke test of the command and its JSON, never of the figure."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.pg import PostgresHandle, create_database, fresh_name
from tests.support.processes import ROOT, clean_env
from tests.support.settings import TEST_JWT_SECRET


def test_bench_scrape_small_run_times_the_scrapes_and_probes_the_loop(postgres: PostgresHandle,
                                                                      redis_url: str) -> None:
    """20 sockets and 3 scrapes: the scrape times, the page size, the probe with and without, and a verdict."""
    database = create_database(postgres, fresh_name("bench_scrape"), migrated=False)  # the bench migrates it
    env = clean_env(DATABASE_URL=database, REDIS_URL=redis_url, JWT_SECRET=TEST_JWT_SECRET)
    result = subprocess.run([sys.executable, "-m", "bench", "scrape", "--sockets", "20", "--scrapes", "3"], env=env,
                            capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    document = json.loads(result.stdout)
    assert document["benchmark"] == "scrape" and document["sockets"] == 21 and document["scrapes"] == 3
    assert document["page_bytes"] > 1000 and 0 < document["scrape_p50_ms"] <= document["scrape_max_ms"]
    assert document["probe_idle"]["count"] > 0 and document["probe_during_scrapes"]["count"] > 0
    assert document["verdict"] in ("met", "missed") and document["target_scrape_p95_ms"] == 50.0
