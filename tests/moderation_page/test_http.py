"""GET /moderation and its assets: a self-contained page under a strict Content-Security-Policy."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import httpx

from tests.support.server import RunningServer

STATIC = Path(__file__).resolve().parents[2] / "rest" / "static" / "moderation"


def directives(policy: str) -> dict[str, list[str]]:
    """``"a b c; d e"`` -> ``{"a": ["b", "c"], "d": ["e"]}``."""
    parsed: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            assert words[0] not in parsed, f"directive {words[0]} given twice"
            parsed[words[0]] = words[1:]
    return parsed


class Inventory(HTMLParser):
    """Every URL-bearing attribute, inline script/style and event-handler attribute of a document."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, value in attrs:
            if name in ("src", "href", "action", "formaction", "srcset", "poster", "data") and value is not None:
                self.urls.append(value)
            if name.startswith("on") or name == "style":
                self.inline.append(f"<{tag} {name}>")
        if tag == "style":
            self.inline.append("<style>")
        if tag == "script":
            self._in_script = True
            self.scripts.append(values.get("src") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append("<script> with a body")


async def test_the_page_is_html_under_a_strict_policy(http: httpx.AsyncClient, server: RunningServer) -> None:
    """The dashboard is served as HTML whose CSP allows no inline or remote code and no framing."""
    resp = await http.get("/moderation")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "text/html; charset=utf-8"
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["cache-control"] == "no-cache"
    assert resp.headers["x-frame-options"] == "DENY"
    policy = directives(resp.headers["content-security-policy"])
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]  # CSP Level 3: also ws:// and wss:// to this host
    assert policy["base-uri"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'none'"]
    # images: this origin, data: (the favicon) and the media origin from PUBLIC_BASE_URL, which here is not
    # this server's own origin; nothing else
    assert server.settings.public_base_url != server.base_url
    assert policy["img-src"] == ["'self'", "data:", server.settings.public_base_url]
    words = " ".join(w for values in policy.values() for w in values)
    for loose in ("'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "*", "https:", "http:", "blob:"):
        assert loose not in words.split()


async def test_the_page_names_no_external_url_and_no_inline_code(http: httpx.AsyncClient) -> None:
    """Every src/href of the HTML is on this origin (or the data: favicon), and nothing runs inline."""
    html = (await http.get("/moderation")).text
    inventory = Inventory()
    inventory.feed(html)
    assert inventory.urls, "the page links its script and style"
    for url in inventory.urls:
        assert (url.startswith("/") and not url.startswith("//")) or url == "data:,", url
    assert not re.search(r"(?i)(https?:)?//[a-z0-9.-]+\.[a-z]", html), "an absolute URL in the HTML"
    assert inventory.inline == []
    assert len(inventory.scripts) == 1 and inventory.scripts[0].startswith("/moderation/app.js?v=")


async def test_the_assets_have_their_types_and_versioned_caching(http: httpx.AsyncClient) -> None:
    """app.js and app.css come with their types and nosniff; the versioned URL the page names is immutable."""
    html = (await http.get("/moderation")).text
    for name, media_type in (("app.js", "text/javascript"), ("app.css", "text/css")):
        match = re.search(rf'"(/moderation/{re.escape(name)}\?v=([0-9a-f]+))"', html)
        assert match, f"the page links {name} with a version"
        versioned, version = match.group(1), match.group(2)
        resp = await http.get(versioned)
        assert resp.status_code == 200
        assert resp.headers["content-type"] == f"{media_type}; charset=utf-8"
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert resp.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert resp.content == (STATIC / name).read_bytes()
        assert resp.headers["etag"] == f'"{version}"'
        # any other version (an old page, a typo) must not be pinned for a year
        stale = await http.get(f"/moderation/{name}?v=0000")
        assert stale.status_code == 200 and stale.headers["cache-control"] == "no-cache"
        revalidated = await http.get(f"/moderation/{name}", headers={"If-None-Match": resp.headers["etag"]})
        assert revalidated.status_code == 304 and revalidated.content == b""


async def test_the_html_revalidates_with_its_etag(http: httpx.AsyncClient) -> None:
    """A reload with the page's ETag costs a 304; the CSP comes with it."""
    first = await http.get("/moderation")
    again = await http.get("/moderation", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.headers["content-security-policy"] == first.headers["content-security-policy"]


async def test_nearby_paths_are_not_the_page(http: httpx.AsyncClient) -> None:
    """Only the three files are served: no trailing-slash variant, no directory listing, no other file."""
    for path in ("/moderation/", "/moderation/index.html", "/moderation/__init__.py", "/moderation/../app.py"):
        assert (await http.get(path)).status_code == 404, path


def test_the_script_keeps_tokens_in_memory_and_never_parses_html() -> None:
    """app.js touches no web storage or cookies, and never turns data into markup or code."""
    source = (STATIC / "app.js").read_text(encoding="utf-8")
    for forbidden in ("localStorage", "sessionStorage", "indexedDB", "document.cookie", "innerHTML", "outerHTML",
                      "insertAdjacentHTML", "document.write", "eval(", "new Function", "setTimeout('",
                      'setTimeout("', "window.confirm", "confirm(", "alert("):
        if forbidden == "confirm(":
            # our own in-page dialog is confirmDialog(...); a bare confirm( would be the browser's
            assert not re.search(r"(?<![A-Za-z.])confirm\(", source), forbidden
            continue
        assert forbidden not in source, forbidden
    assert "'/v1/ws'" in source or "/v1/ws`" in source  # the socket is on this page's own host


def test_the_static_files_ship_with_the_package() -> None:
    """The page's folder is a package whose data files setuptools includes (the wheel carries them)."""
    import tomllib

    pyproject = tomllib.loads((STATIC.parents[2] / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["*"]
    assert {"*.html", "*.css", "*.js"} <= set(patterns)
    assert (STATIC / "__init__.py").is_file() and (STATIC.parent / "__init__.py").is_file()
