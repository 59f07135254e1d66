"""GET /moderation: the moderators' live dashboard, three static files from ``rest/static/moderation``.

The page is plain HTML and CSS with one script, ``app.js``: the bundle of the TypeScript sources in
``clients/typescript/dashboard/`` on the typed client (``npm run build:dashboard``; committed, since the
image has no Node, and checked for staleness by tests/clients/test_page_bundles.py). No CDN, no inline
code. Its Content-Security-Policy lets scripts and styles come from this origin only, images
from this origin, ``data:`` and the media origin, and connections go to this origin only (in
CSP Level 3 ``'self'`` also covers ``ws://`` and ``wss://`` to the same host, which is where
the page opens ``/v1/ws``). The HTML names its assets with a content hash (``?v=``), so they
can be cached for a year; the HTML itself is revalidated on every load.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from rest.context import deps
from rest.static_page import load_page, origin_of, serve, serve_asset

PAGE_PATH = "/moderation"
SCRIPT_PATH = "/moderation/app.js"
STYLE_PATH = "/moderation/app.css"


PAGE_FILES = load_page("rest.static.moderation", SCRIPT_PATH, STYLE_PATH)


def content_security_policy(media_origin: str | None) -> str:
    """The page's policy: nothing inline, nothing remote except the photos' origin."""
    images = " ".join(["'self'", "data:", *([media_origin] if media_origin else [])])
    return ("default-src 'none'; script-src 'self'; style-src 'self'; "
            f"img-src {images}; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'; "
            "form-action 'none'")


async def page(request: Request) -> Response:
    """The dashboard's HTML with its CSP; revalidated on every load so a deploy shows at once."""
    media = origin_of(deps(request).config.public_base_url)
    own = f"{request.url.scheme}://{request.url.netloc}"
    csp = content_security_policy(media if media != own else None)
    return serve(request, PAGE_FILES.html, "no-cache", {"Content-Security-Policy": csp, "X-Frame-Options": "DENY"})


async def script(request: Request) -> Response:
    return serve_asset(request, PAGE_FILES.script)


async def style(request: Request) -> Response:
    return serve_asset(request, PAGE_FILES.style)


def moderation_routes() -> list[BaseRoute]:
    """The page and its two assets."""
    return [Route(PAGE_PATH, page, methods=["GET"]),
            Route(SCRIPT_PATH, script, methods=["GET"]),
            Route(STYLE_PATH, style, methods=["GET"])]
