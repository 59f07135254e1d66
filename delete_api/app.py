"""The app factory: routes of both transports, error handlers and the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from delete_api.collector import Collector
from delete_api.header_timeout import HEADER_TIMEOUT_STATE
from delete_api.logs import configure_logging
from delete_api.resources import open_resources
from delete_api.settings import Settings
from delete_api.upgrade_handoff import UpgradeHandoffProtocol
from delete_api.ws_protocol import LeanWebSocketProtocol
from domain.errors import DomainError
from rest.access_log import AccessLog
from rest.cors import RestCors
from rest.errors import CatchAll, domain_error_handler, http_error_handler, internal_error_handler
from rest.routes import rest_routes

WS_MAX_FRAME = 64 * 1024
GRACEFUL_SHUTDOWN_S = 10
SOCKET_PATH = "/v1/ws"


class SocketFirst:
    """Hand ``/v1/ws`` upgrades straight to the socket endpoint, everything else to Starlette.

    A socket lives for hours; going through Starlette's middleware stack would keep a
    frame of every middleware alive per idle socket (about 5 KB each). The route stays
    registered in Starlette too, so nothing else changes.
    """

    def __init__(self, app: Starlette) -> None:
        self.app = app
        from realtime.endpoint import ws_endpoint

        self._endpoint = ws_endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == SOCKET_PATH:
            await self._endpoint(WebSocket(scope, receive, send))
            return
        await self.app(scope, receive, send)


def all_routes() -> list[BaseRoute]:
    """REST, the socket, the moderators' page and the web app (importing the commands package fills the command
    registry)."""
    import realtime.commands  # noqa: F401 - importing registers every command handler
    from realtime.asyncapi import asyncapi_json, asyncapi_page
    from realtime.endpoint import ws_endpoint
    from rest.moderation_page import moderation_routes
    from rest.web_app import web_app_routes

    return [*rest_routes(), WebSocketRoute(SOCKET_PATH, ws_endpoint),
            Route("/v1/asyncapi.json", asyncapi_json, methods=["GET"]),
            Route("/v1/asyncapi", asyncapi_page, methods=["GET"]),
            *moderation_routes(), *web_app_routes()]


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Server options shared by ``serve`` and the tests: socket limits, heartbeats and the header timeout."""
    return {
        # uvicorn's httptools, closing connections whose headers come too slowly, handing upgrades on parsed
        "http": UpgradeHandoffProtocol,
        "ws": LeanWebSocketProtocol,  # uvicorn's websockets-sansio, without the kept handshake
        "ws_max_size": WS_MAX_FRAME,
        "ws_per_message_deflate": False,
        "ws_ping_interval": settings.heartbeat_s,
        "ws_ping_timeout": settings.heartbeat_s,
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_S,
        # the peer address stays the TCP peer: uvicorn would otherwise take X-Forwarded-For from any loopback
        # peer (FORWARDED_ALLOW_IPS); the login throttle reads a proxy header only if TRUSTED_PROXY_HEADER names it
        "proxy_headers": False,
    }


def create_app(settings: Settings, *, tune_collector: bool = False) -> SocketFirst:
    """Build the ASGI app for ``settings`` (URLs and secret already resolved).

    ``tune_collector``: the process serves this app only (``delete-api serve``): the garbage collector
    runs under ``delete_api.collector``'s policy (start-up objects frozen, full collections on a schedule).
    """

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        async with open_resources(settings) as resources:
            collector = Collector() if tune_collector else None
            if collector is not None:
                collector.start()
            try:
                yield {"rest": resources.rest, "realtime": resources.realtime,
                       HEADER_TIMEOUT_STATE: settings.header_timeout_s}
            finally:
                if collector is not None:
                    await collector.stop()

    routes = all_routes()
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            DomainError: domain_error_handler,
            HTTPException: http_error_handler,
            Exception: internal_error_handler,
        },
        # CORS outermost, so the answers of CatchAll and of the error handlers carry its headers too
        # the access log outermost (it sees the final status, 500s of CatchAll included); CORS next, so the
        # answers of CatchAll and of the error handlers carry its headers too
        middleware=[Middleware(AccessLog), Middleware(RestCors, origins=settings.allowed_origins, routes=routes),
                    Middleware(CatchAll)],
    )
    # the contract has no trailing slashes: /v1/health/ is a 404, never a redirect built from Host
    app.router.redirect_slashes = False
    return SocketFirst(app)


def create_app_from_env() -> SocketFirst:
    """Factory for ``uvicorn --factory`` workers: everything comes from the environment (a worker is a fresh
    interpreter, so it configures logging itself)."""
    settings = Settings.from_env()
    configure_logging(settings.log_level, settings.log_format, settings.node_name)
    return create_app(settings, tune_collector=True)
