"""`python -m bench scaleout`, run tiny on a throwaway Redis Cluster: a smoke test of the command, its node counts
and its files, never of the figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.command import build_parser
from bench.scaleout import run_argv
from delete_api.embedded.redis_cluster import redis_server_binary
from tests.support.processes import ROOT, clean_env

BENCH = [sys.executable, "-m", "bench"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.mark.timeout(420)
@pytest.mark.skipif(redis_server_binary() is None, reason="needs redis-server >= 7 and redis-cli on PATH")
def test_scaleout_runs_the_node_count_on_the_cluster_and_plots_it(tmp_path: Path) -> None:
    """A run with two nodes on 3 Redis shards loses no event; the table, the JSON and the plot name it (one node
    count only: each run costs half a minute of the suite)."""
    out = tmp_path / "scaleout"
    result = subprocess.run(
        [*BENCH, "scaleout", "--nodes", "2", "--redis-shards", "3", "--users-per-node", "8",
         "--active-fraction", "0.5", "--duration", "3", "--warmup", "2", "--out", str(out)],
        env=clean_env(), capture_output=True, text=True, timeout=400, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "starting a Redis Cluster" in result.stderr  # progress while it runs
    doc = json.loads(result.stdout)
    rows = {(r["nodes"], r["redis_shards"]): r for r in doc["rows"]}
    assert set(rows) == {(2, 3)}
    for (nodes, _), row in rows.items():
        summary = json.loads((out / f"nodes{nodes}-shards3" / "summary.json").read_text())
        assert len(summary["mixed"]["nodes"]) == nodes
        assert summary["params"]["redis"] == "cluster 3x2 (throwaway)"
        assert row["users"] == 8 * nodes and row["commands_per_s"] > 0
        assert row["lost"] == 0
    assert (out / "scaleout.png").read_bytes().startswith(PNG_MAGIC)
    table = (out / "scaleout.md").read_text()
    assert "| 2 | 3 | 16 (8) |" in table


def _warmup(argv: list[str]) -> float:
    return float(argv[argv.index("--warmup") + 1])


def test_the_warm_up_grows_with_the_nodes_unless_given(tmp_path: Path) -> None:
    """The start's backlog grows with the users: by default each run warms up 10 s, plus 5 s per node beyond two,
    so the measured window starts after it; an explicit --warmup is used as given."""
    defaults = build_parser().parse_args(["scaleout"])
    assert [_warmup(run_argv(defaults, nodes, 1, tmp_path)) for nodes in (1, 2, 4, 8)] == [10, 10, 20, 40]
    given = build_parser().parse_args(["scaleout", "--warmup", "3"])
    assert _warmup(run_argv(given, 8, 3, tmp_path)) == 3
