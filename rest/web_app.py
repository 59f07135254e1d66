"""GET /app: the reference web app for people using Delete (``clients/typescript/app``, bundled into
``rest/static/app/app.js`` by ``npm run build:app``; the image has no Node, so the bundle is committed).

The page is one HTML file, one stylesheet and one script, with no framework, no CDN and no inline code. Its
client-side routes (``/app/discover``, ``/app/chat/<id>``, and the pages mails link to, ``/app/verify-email`` and
``/app/reset-password`` with ``#token=…`` in the fragment) all answer the same HTML. The API is the page's own
origin; a copy served elsewhere names its API origins in ``<meta name="delete-api" content="…">`` (see
``content_security_policy`` for the policy such a server should send). Assets carry a content hash (``?v=``) and
are cached for a year; the HTML is revalidated on every load, as for the moderators' dashboard.
"""

from __future__ import annotations

import re

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from rest.context import deps
from rest.static_page import load_page, origin_of, serve, serve_asset

PAGE_PATH = "/app"
SCRIPT_PATH = "/app/app.js"
STYLE_PATH = "/app/app.css"
CLIENT_ROUTE = re.compile(r"[a-z0-9-]+(/[A-Za-z0-9-]+)*")  # /app/discover, /app/chat/<uuid>; never a file name
PAGE_FILES = load_page("rest.static.app", SCRIPT_PATH, STYLE_PATH)


def socket_origin(origin: str) -> str:
    """``https://host`` -> ``wss://host`` (what connect-src must name for the socket)."""
    return "ws" + origin.removeprefix("http")


def content_security_policy(api_origins: list[str], media_origins: list[str]) -> str:
    """The page's policy: scripts and styles from its own origin only, nothing inline; connections to the API
    origins (REST and their ``ws(s)://`` socket); images from the page, ``data:`` and the media origins."""
    connect = ["'self'"]
    for origin in api_origins:
        for source in (origin, socket_origin(origin)):
            if source not in connect:
                connect.append(source)
    images = ["'self'", "data:"]
    images += [origin for origin in dict.fromkeys(media_origins) if origin not in images]
    return ("default-src 'none'; script-src 'self'; style-src 'self'; "
            f"img-src {' '.join(images)}; connect-src {' '.join(connect)}; base-uri 'none'; "
            "frame-ancestors 'none'; form-action 'none'")


def page_headers(api_origins: list[str], media_origins: list[str]) -> dict[str, str]:
    return {"Content-Security-Policy": content_security_policy(api_origins, media_origins), "X-Frame-Options": "DENY"}


async def page(request: Request) -> Response:
    """The app's HTML for ``/app`` and every client-side route under it."""
    path = request.path_params.get("path")
    if path is not None and not CLIENT_ROUTE.fullmatch(path):
        raise HTTPException(404)
    own = f"{request.url.scheme}://{request.url.netloc}"
    media = origin_of(deps(request).config.public_base_url)
    # the socket is on this origin: 'self' covers ws(s):// of it in CSP Level 3; named too, for older browsers
    headers = page_headers([own], [media] if media and media != own else [])
    return serve(request, PAGE_FILES.html, "no-cache", headers)


async def script(request: Request) -> Response:
    return serve_asset(request, PAGE_FILES.script)


async def style(request: Request) -> Response:
    return serve_asset(request, PAGE_FILES.style)


def web_app_routes() -> list[BaseRoute]:
    """The page, its two assets, and its client-side routes."""
    return [Route(PAGE_PATH, page, methods=["GET"]),
            Route(SCRIPT_PATH, script, methods=["GET"]),
            Route(STYLE_PATH, style, methods=["GET"]),
            Route(PAGE_PATH + "/{path:path}", page, methods=["GET"])]

