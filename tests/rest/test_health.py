"""CONTRACT section 1: GET /v1/health, with real dependencies going down and coming back."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from pathlib import Path
from typing import Any

import httpx

from delete_api.embedded.redis import EmbeddedRedis
from tests.support.server import run_server
from tests.support.settings import make_settings

# CHECK_TIMEOUT_S is 2 s; anything near 5 s means a check is hanging on a dead dependency.
MAX_ANSWER_S = 5.0


async def timed_health(http: httpx.AsyncClient) -> httpx.Response:
    """GET /v1/health, asserting it answers within MAX_ANSWER_S."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    resp = await http.get("/v1/health")
    elapsed = loop.time() - started
    assert elapsed < MAX_ANSWER_S, f"health took {elapsed:.1f}s"
    return resp


async def poll_health(http: httpx.AsyncClient, status: int, within_s: float = 10.0) -> httpx.Response:
    """Ask for health until it answers ``status`` (or ``within_s`` passes); return the last answer."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while True:
        resp = await timed_health(http)
        if resp.status_code == status or loop.time() >= deadline:
            return resp
        await asyncio.sleep(0.1)


def assert_health(resp: httpx.Response, status: int, database: str, redis: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = resp.json()
    assert set(body) == {"status", "version", "checks"}
    assert body["status"] == ("ok" if status == 200 else "degraded")
    assert re.fullmatch(r"\d+\.\d+\.\d+", body["version"]), body["version"]
    assert body["checks"] == {"database": database, "redis": redis}
    return body


async def test_health_is_ok_without_auth(http: httpx.AsyncClient) -> None:
    """Health answers 200 with status ok, an x.y.z version and both checks ok, with no token."""
    body = assert_health(await timed_health(http), 200, "ok", "ok")
    assert body["status"] == "ok"


async def test_health_ignores_a_bad_token(http: httpx.AsyncClient) -> None:
    """Health never needs auth: even a garbage bearer token gets the normal 200."""
    resp = await http.get("/v1/health", headers={"Authorization": "Bearer not-a-token"})
    assert_health(resp, 200, "ok", "ok")


async def test_redis_down_is_503_and_recovers(database_url: str, tmp_root: Path) -> None:
    """With Redis stopped, health is 503 degraded naming redis, answering fast; once Redis is back, 200 again."""
    redis = EmbeddedRedis(tmp_root / "health-redis")
    await asyncio.to_thread(redis.start)
    try:
        settings = make_settings(database_url, redis.url, tmp_root / "m2")
        async with run_server(settings) as running, httpx.AsyncClient(base_url=running.base_url,
                                                                      timeout=10) as http:
            assert_health(await timed_health(http), 200, "ok", "ok")

            await asyncio.to_thread(redis.stop)
            assert_health(await poll_health(http, 503), 503, "ok", "error")
            assert_health(await timed_health(http), 503, "ok", "error")

            await asyncio.to_thread(redis.start)
            assert_health(await poll_health(http, 200), 200, "ok", "ok")
    finally:
        await asyncio.to_thread(redis.stop)


async def test_hung_redis_is_503_within_the_deadline(database_url: str, tmp_root: Path) -> None:
    """With Redis frozen (accepting nothing, answering nothing), health still answers 503 in under 5 s."""
    redis = EmbeddedRedis(tmp_root / "health-redis-hung")
    await asyncio.to_thread(redis.start)
    assert redis.process is not None
    pid = redis.process.pid
    try:
        settings = make_settings(database_url, redis.url, tmp_root / "m4")
        async with run_server(settings) as running, httpx.AsyncClient(base_url=running.base_url,
                                                                      timeout=10) as http:
            assert_health(await timed_health(http), 200, "ok", "ok")
            os.kill(pid, signal.SIGSTOP)
            try:
                assert_health(await timed_health(http), 503, "ok", "error")
            finally:
                os.kill(pid, signal.SIGCONT)
            assert_health(await poll_health(http, 200), 200, "ok", "ok")
    finally:
        await asyncio.to_thread(redis.stop)


async def test_database_down_is_503(redis_url: str, tmp_root: Path) -> None:
    """With no PostgreSQL reachable, health is 503 degraded naming database, and answers fast."""
    nowhere = f"postgresql://postgres@/nodb?host={tmp_root}/no-such-dir"
    settings = make_settings(nowhere, redis_url, tmp_root / "m3")
    async with run_server(settings) as running, httpx.AsyncClient(base_url=running.base_url, timeout=10) as http:
        assert_health(await timed_health(http), 503, "error", "ok")
        assert_health(await timed_health(http), 503, "error", "ok")
