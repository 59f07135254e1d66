"""The test cluster's harness starts a node on other ports when one it picked was taken meanwhile (another
process bound it between the pick and the node's bind): the suite's cluster tests and the scale-out benchmark
test start clusters while everything else runs, and a taken port must not fail them."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from delete_api.embedded import redis_cluster
from delete_api.embedded.redis_cluster import RedisClusterHarness, redis_server_binary


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[RedisClusterHarness]:
    binary = redis_server_binary()
    if binary is None:
        pytest.skip("no redis-server >= 7 (with redis-cli) on PATH")
    started = RedisClusterHarness(tmp_path, binary)
    yield started
    started.stop()


def test_a_node_whose_port_was_taken_starts_on_another(harness: RedisClusterHarness, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        picks = iter([taken])
        real = redis_cluster.free_port
        monkeypatch.setattr(redis_cluster, "free_port", lambda host: next(picks, None) or real(host))
        (tmp_path / "node").mkdir()
        node = harness._started(tmp_path / "node", set())
        harness.nodes.append(node)  # stopped with the harness
        assert node.port != taken and node.running and node.command("PING")
