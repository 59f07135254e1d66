"""GET /v1/health: real checks of PostgreSQL and Redis, 503 when one is down."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from domain.wire.http import Health
from rest.context import deps

log = logging.getLogger("rest.health")
CHECK_TIMEOUT_S = 2.0


async def _database_ok(request: Request) -> bool:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S), deps(request).engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except Exception as exc:
        log.warning("health: database check failed: %s", type(exc).__name__)
        return False


async def _redis_ok(request: Request) -> bool:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            return bool(await deps(request).redis.ping())
    except Exception as exc:
        log.warning("health: redis check failed: %s", type(exc).__name__)
        return False


async def health(request: Request) -> Response:
    database, redis = await asyncio.gather(_database_ok(request), _redis_ok(request))
    healthy = database and redis
    body: Health = {"status": "ok" if healthy else "degraded", "version": deps(request).config.version,
                    "checks": {"database": "ok" if database else "error", "redis": "ok" if redis else "error"}}
    return JSONResponse(
        body,
        status_code=200 if healthy else 503,
        headers={"Cache-Control": "no-store"},
    )
