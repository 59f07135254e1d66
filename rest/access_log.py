"""The REST access log and request metrics: per HTTP request, the route template, never the raw path.

``rest.access`` at info: ``method``, ``route`` (``/v1/profile/photos/{photo_id}``; ``-`` when no route
matched), ``status`` and ``duration_ms``. No query string, no client address and no header is logged: paths of
one route differ only by ids, and addresses are personal data (the login throttle keeps its own counters).
WebSocket upgrades are not logged here (the socket logs its own opening and closing). The same figures go to
``delete_http_requests_total`` and ``delete_http_request_duration_seconds``; an unmatched path counts as ``-``.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from infra import metrics

log = logging.getLogger("rest.access")


class AccessLog:
    """ASGI middleware writing the access log line once the response has started (or failed)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "-")
            seconds = time.perf_counter() - started
            metrics.http_requests.labels(template, scope["method"], str(status)).inc()
            metrics.http_duration.labels(template, scope["method"]).observe(seconds)
            duration = round(seconds * 1000, 2)
            log.info("%s %s %d %.1f ms", scope["method"], template, status, duration,
                     extra={"method": scope["method"], "route": template, "status": status, "duration_ms": duration})
