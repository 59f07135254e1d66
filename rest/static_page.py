"""Serving a page of three static files (HTML, one script, one stylesheet), as the dashboard and the web app do.

The files are read once, at import. The HTML names its assets with a content hash (``?v=``), so the URL the
current HTML names is cached for a year (immutable) and any other revalidates; the HTML itself is revalidated
on every load, so a deploy shows at once. Every answer carries an ETag (304 on a match), ``nosniff`` and
``Referrer-Policy: no-referrer``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib.resources import files
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

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


@dataclass(frozen=True)
class StaticPage:
    """The page's HTML (naming its assets by version), its script and its stylesheet."""

    html: Asset
    script: Asset
    style: Asset


def load_page(package: str, script_path: str, style_path: str) -> StaticPage:
    """Read ``index.html``, ``app.js`` and ``app.css`` of ``package``; the HTML's asset URLs get their version."""
    folder = files(package)
    script = _asset(folder.joinpath("app.js").read_bytes(), "text/javascript; charset=utf-8")
    style = _asset(folder.joinpath("app.css").read_bytes(), "text/css; charset=utf-8")
    html = (folder.joinpath("index.html").read_bytes().decode("utf-8")
            .replace(f'"{script_path}"', f'"{script_path}?v={script.version}"')
            .replace(f'"{style_path}"', f'"{style_path}?v={style.version}"'))
    return StaticPage(_asset(html.encode("utf-8"), "text/html; charset=utf-8"), script, style)


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL, else None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def serve(request: Request, asset: Asset, cache_control: str, extra: dict[str, str] | None = None) -> Response:
    """``asset`` with its validator (304 when the client has it) and ``extra`` headers."""
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


def serve_asset(request: Request, asset: Asset) -> Response:
    """A script or stylesheet: immutable for a year at the version the HTML names, else revalidated."""
    current = request.query_params.get("v") == asset.version
    return serve(request, asset, f"public, max-age={YEAR_S}, immutable" if current else "no-cache")
