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

import hashlib
import re
from dataclasses import dataclass
from importlib.resources import files
from urllib.parse import urlsplit

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from rest.context import deps

PAGE_PATH = "/app"
SCRIPT_PATH = "/app/app.js"
STYLE_PATH = "/app/app.css"
CLIENT_ROUTE = re.compile(r"[a-z0-9-]+(/[A-Za-z0-9-]+)*")  # /app/discover, /app/chat/<uuid>; never a file name
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


def read_static(name: str) -> bytes:
    return files("rest.static.app").joinpath(name).read_bytes()


def _load() -> tuple[Asset, Asset, Asset]:
    """Read the three files once, at import."""
    script = _asset(read_static("app.js"), "text/javascript; charset=utf-8")
    style = _asset(read_static("app.css"), "text/css; charset=utf-8")
    html = (read_static("index.html").decode("utf-8")
            .replace(f'"{SCRIPT_PATH}"', f'"{SCRIPT_PATH}?v={script.version}"')
            .replace(f'"{STYLE_PATH}"', f'"{STYLE_PATH}?v={style.version}"'))
    return _asset(html.encode("utf-8"), "text/html; charset=utf-8"), script, style


PAGE, SCRIPT, STYLE = _load()


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


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


def _asset_cache(request: Request, asset: Asset) -> str:
    # only the URL the current HTML names is immutable; any other ?v= (or none) revalidates
    return f"public, max-age={YEAR_S}, immutable" if request.query_params.get("v") == asset.version else "no-cache"


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
    media = _origin(deps(request).config.public_base_url)
    # the socket is on this origin: 'self' covers ws(s):// of it in CSP Level 3; named too, for older browsers
    headers = page_headers([own], [media] if media and media != own else [])
    return _serve(request, PAGE, "no-cache", headers)


async def script(request: Request) -> Response:
    return _serve(request, SCRIPT, _asset_cache(request, SCRIPT))


async def style(request: Request) -> Response:
    return _serve(request, STYLE, _asset_cache(request, STYLE))


def web_app_routes() -> list[BaseRoute]:
    """The page, its two assets, and its client-side routes."""
    return [Route(PAGE_PATH, page, methods=["GET"]),
            Route(SCRIPT_PATH, script, methods=["GET"]),
            Route(STYLE_PATH, style, methods=["GET"]),
            Route(PAGE_PATH + "/{path:path}", page, methods=["GET"])]

