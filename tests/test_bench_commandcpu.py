"""``python -m bench commandcpu``: the server's own CPU per command kind, from a client in another process."""

from __future__ import annotations

import json
import subprocess
import sys

from bench.commandcpu_client import KINDS
from tests.support.pg import PostgresHandle, create_database, fresh_name
from tests.support.processes import ROOT, clean_env

BENCH = [sys.executable, "-m", "bench", "commandcpu"]


def test_every_command_kind_gets_a_figure_from_calls_that_all_succeeded(postgres: PostgresHandle,
                                                                         redis_url: str) -> None:
    """A short run on a fresh database: a figure per kind of the load mix (the client exits 1 on any failed
    call, which fails the run), the idle stretch measured, and progress on stderr."""
    database_url = create_database(postgres, fresh_name("delete_commandcpu"), migrated=False)
    result = subprocess.run([*BENCH, "--calls", "2", "--rounds", "1"], capture_output=True, text=True, timeout=240,
                            env=clean_env(DATABASE_URL=database_url, REDIS_URL=redis_url), cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert set(report["commands"]) == set(KINDS)
    assert all(len(figure["rounds"]) == 1 and figure["server_cpu_ms"] >= 0 for figure in report["commands"].values())
    assert report["calls_per_round"] == 2 and len(report["idle_cpu_ms_per_pause"]) == 1
    assert "[commandcpu] messages.send:" in result.stderr


def test_calls_beyond_what_the_world_can_show_are_refused() -> None:
    result = subprocess.run([*BENCH, "--calls", "25"], capture_output=True, text=True, timeout=60, env=clean_env(),
                            cwd=ROOT)
    assert result.returncode == 2 and "--calls" in result.stderr
