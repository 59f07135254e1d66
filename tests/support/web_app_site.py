"""A second origin for the reference web app: a tiny Starlette server that serves ``rest/static/app`` with the API
origins injected (``<meta name="delete-api">``) and the CSP ``rest.web_app`` would send for them.

This is what a deployment on its own origin (``https://my.trydelete.app`` calling ``https://api.trydelete.app``)
looks like, on loopback: the page's origin differs from every API node's, so REST needs CORS and the socket needs
the origin in ``ALLOWED_ORIGINS``. Bind the socket first (``loopback_socket``) so the nodes can be told the origin.
"""

from __future__ import annotations

import asyncio
import html
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from rest.web_app import page_headers

STATIC = Path(__file__).resolve().parents[2] / "rest" / "static" / "app"
NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def page_html(api_origins: list[str]) -> bytes:
    """index.html with ``<meta name="delete-api" content="<origins>">`` before ``</head>``."""
    text = (STATIC / "index.html").read_text()
    meta = f'<meta name="delete-api" content="{html.escape(" ".join(api_origins))}">\n'
    assert "</head>" in text
    return text.replace("</head>", meta + "</head>", 1).encode()


def site_app(api_origins: list[str]) -> Starlette:
    """The page at ``/app`` and ``/app/<client route>``, and its two assets, read from disk at start."""
    body = page_html(api_origins)
    headers = {**NO_STORE, **page_headers(api_origins, api_origins)}
    script = (STATIC / "app.js").read_bytes()
    style = (STATIC / "app.css").read_bytes()

    async def page(request: Request) -> Response:
        return Response(body, media_type="text/html; charset=utf-8", headers=headers)

    async def app_js(request: Request) -> Response:
        return Response(script, media_type="text/javascript; charset=utf-8", headers=NO_STORE)

    async def app_css(request: Request) -> Response:
        return Response(style, media_type="text/css; charset=utf-8", headers=NO_STORE)

    return Starlette(routes=[Route("/app", page), Route("/app/app.js", app_js), Route("/app/app.css", app_css),
                             Route("/app/{path:path}", page)])


@dataclass(frozen=True)
class Site:
    """A running static server of the app: ``origin`` is where the browser loads it from."""

    origin: str
    api_origins: list[str]


@asynccontextmanager
async def running_site(sock: socket.socket, api_origins: list[str]) -> AsyncIterator[Site]:
    """Serve the app on ``sock`` (bound, not listening) inside the test's event loop; closed on exit."""
    port = sock.getsockname()[1]
    config = uvicorn.Config(site_app(api_origins), lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if task.done():
                    task.result()
                    raise RuntimeError("the static site exited during start-up")
                await asyncio.sleep(0.01)
        yield Site(f"http://127.0.0.1:{port}", api_origins)
    finally:
        server.should_exit = True
        try:
            async with asyncio.timeout(10):
                await task
        finally:
            sock.close()
