"""`python -m bench mail`, run small: a smoke test of the command and its JSON, never of the figure."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.pg import PostgresHandle
from tests.support.processes import ROOT, clean_env
from tests.support.settings import TEST_JWT_SECRET


def test_bench_mail_small_run_prints_the_rate_and_the_verdict(postgres: PostgresHandle) -> None:
    """30 mails through the real sender to a local SMTP server: every one arrives once; rate and verdict."""
    env = clean_env(DATABASE_URL=postgres.url("postgres"), JWT_SECRET=TEST_JWT_SECRET)
    result = subprocess.run([sys.executable, "-m", "bench", "mail", "--mails", "30", "--senders", "2"], env=env,
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    document = json.loads(result.stdout)
    assert document["benchmark"] == "mail" and document["received"] == 30 and document["duplicates"] == 0
    assert sum(document["per_sender"]) == 30 and document["mails_per_s"] > 0
    assert document["verdict"] in ("met", "missed") and document["target_mails_per_s"] == 50.0
