"""GET /moderation: the moderators' live dashboard, three static files from ``rest/static/moderation``.

The page is plain HTML and CSS with one script, ``app.js``: the bundle of the TypeScript sources in
``clients/typescript/dashboard/`` on the typed client (``npm run build:dashboard``; committed, since the
image has no Node, and checked for staleness by tests/clients/test_dashboard_bundle.py). No CDN, no inline
code. Its Content-Security-Policy lets scripts and styles come from this origin only, images
from this origin, ``data:`` and the media origin, and connections go to this origin only (in
CSP Level 3 ``'self'`` also covers ``ws://`` and ``wss://`` to the same host, which is where
the page opens ``/v1/ws``). The HTML names its assets with a content hash (``?v=``), so they
can be cached for a year; the HTML itself is revalidated on every load.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib.resources import files
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from rest.context import deps

PAGE_PATH = "/moderation"
SCRIPT_PATH = "/moderation/app.js"
STYLE_PATH = "/moderation/app.css"
YEAR_S = 365 * 24 * 3600


@dataclass(frozen=True)
class Asset:
    """One file of the page, with its validator."""

    body: bytes
    media_type: str
    version: str

    @property
    def etag(self) -> str:
        return f'"{self.version}"'


def _asset(body: bytes, media_type: str) -> Asset:
    return Asset(body, media_type, hashlib.sha256(body).hexdigest()[:16])


def _read(name: str) -> bytes:
    return files("rest.static.moderation").joinpath(name).read_bytes()


def _load() -> tuple[Asset, Asset, Asset]:
    """Read the three files once, at import (a few KB; no disk access per request)."""
    script = _asset(_read("app.js"), "text/javascript; charset=utf-8")
    style = _asset(_read("app.css"), "text/css; charset=utf-8")
    html = (_read("index.html").decode("utf-8")
            .replace(f'"{SCRIPT_PATH}"', f'"{SCRIPT_PATH}?v={script.version}"')
            .replace(f'"{STYLE_PATH}"', f'"{STYLE_PATH}?v={style.version}"'))
    return _asset(html.encode("utf-8"), "text/html; charset=utf-8"), script, style


PAGE, SCRIPT, STYLE = _load()


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(media_origin: str | None) -> str:
    """The page's policy: nothing inline, nothing remote except the photos' origin."""
    images = " ".join(["'self'", "data:", *([media_origin] if media_origin else [])])
    return ("default-src 'none'; script-src 'self'; style-src 'self'; "
            f"img-src {images}; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'; "
            "form-action 'none'")


def _serve(request: Request, asset: Asset, cache_control: str, extra: dict[str, str] | None = None) -> Response:
    headers = {
        "ETag": asset.etag,
        "Cache-Control": cache_control,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        **(extra or {}),
    }
    if asset.etag in (tag.strip() for tag in request.headers.get("if-none-match", "").split(",")):
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


async def page(request: Request) -> Response:
    """The dashboard's HTML with its CSP; revalidated on every load so a deploy shows at once."""
    media = _origin(deps(request).config.public_base_url)
    own = f"{request.url.scheme}://{request.url.netloc}"
    csp = content_security_policy(media if media != own else None)
    return _serve(request, PAGE, "no-cache", {"Content-Security-Policy": csp, "X-Frame-Options": "DENY"})


def _asset_cache(request: Request, asset: Asset) -> str:
    # only the URL the current HTML names is immutable; any other ?v= (or none) revalidates
    return f"public, max-age={YEAR_S}, immutable" if request.query_params.get("v") == asset.version else "no-cache"


async def script(request: Request) -> Response:
    return _serve(request, SCRIPT, _asset_cache(request, SCRIPT))


async def style(request: Request) -> Response:
    return _serve(request, STYLE, _asset_cache(request, STYLE))


def moderation_routes() -> list[BaseRoute]:
    """The page and its two assets."""
    return [Route(PAGE_PATH, page, methods=["GET"]),
            Route(SCRIPT_PATH, script, methods=["GET"]),
            Route(STYLE_PATH, style, methods=["GET"])]
