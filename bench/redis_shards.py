"""``--redis-shards 1|3`` of ``python -m bench realtime`` and ``python -m bench load``: the nodes on the stage's
one Redis, or on a throwaway Redis Cluster of 3 masters with a replica each (``delete_api/embedded/redis_cluster.py``)
in the work folder, stopped on the way out."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from bench.harness import BenchError, say
from delete_api.embedded.redis_cluster import RedisClusterHarness, redis_server_binary
from delete_api.settings import Settings

CHOICES = (1, 3)


@contextlib.contextmanager
def redis_shards(shards: int, resolved: Settings, work: Path) -> Iterator[Settings]:
    """``resolved`` as is for one Redis; for 3 shards pointed at a throwaway cluster in ``work``."""
    if shards == 1:
        yield resolved
        return
    binary = redis_server_binary()
    if binary is None:
        raise BenchError("--redis-shards 3 needs redis-server >= 7 and redis-cli on PATH")
    cluster = RedisClusterHarness(work / "redis-cluster", binary)
    try:
        say("starting a Redis Cluster: 3 masters, 3 replicas")
        cluster.start()
        yield resolved.with_urls(redis_url=cluster.url)
    finally:
        cluster.stop()
