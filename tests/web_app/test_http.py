"""GET /app and its client-side routes: the reference web app served by the app itself, under a strict CSP."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from rest.web_app import content_security_policy
from tests.moderation_page.test_http import Inventory, directives
from tests.support.server import RunningServer

STATIC = Path(__file__).resolve().parents[2] / "rest" / "static" / "app"


async def test_the_page_and_its_client_routes_are_html_under_a_strict_policy(
        http: httpx.AsyncClient, server: RunningServer) -> None:
    """/app and the routes mails link to answer the same HTML, whose CSP allows no inline or remote code."""
    first = None
    for path in ("/app", "/app/discover", "/app/chat/0b5f7c1e-8f0a-4c1e-9a57-3c1d2f8b9e10", "/app/verify-email",
                 "/app/reset-password"):
        resp = await http.get(path)
        assert resp.status_code == 200, path
        assert resp.headers["content-type"].startswith("text/html")
        first = first or resp.text
        assert resp.text == first, path
        policy = directives(resp.headers["content-security-policy"])
        assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
        assert policy["default-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
        assert policy["connect-src"] == ["'self'", server.base_url, server.ws_url]
        assert resp.headers["x-frame-options"] == "DENY" and resp.headers["cache-control"] == "no-cache"
        assert resp.headers["x-content-type-options"] == "nosniff"
    inventory = Inventory()
    inventory.feed(first or "")
    assert inventory.inline == []
    assert all(url.startswith(("/app", "#")) or url == "data:," for url in inventory.urls), inventory.urls
    assert [s.split("?")[0] for s in inventory.scripts] == ["/app/app.js"]


async def test_assets_are_versioned_and_file_like_paths_are_not_pages(http: httpx.AsyncClient) -> None:
    html = (await http.get("/app")).text
    for name, kind in (("app.js", "text/javascript"), ("app.css", "text/css")):
        versioned = re.search(rf'"(/app/{re.escape(name)}\?v=[0-9a-f]{{16}})"', html)
        assert versioned, name
        resp = await http.get(versioned.group(1))
        assert resp.status_code == 200 and resp.headers["content-type"].startswith(kind)
        assert resp.content == (STATIC / name).read_bytes()
        assert "immutable" in resp.headers["cache-control"]
        again = await http.get(versioned.group(1), headers={"If-None-Match": resp.headers["etag"]})
        assert again.status_code == 304
    for path in ("/app/missing.js", "/app/chat/x.y", "/app/.env"):
        assert (await http.get(path)).status_code == 404, path


def test_the_policy_names_each_api_origin_and_its_socket() -> None:
    policy = directives(content_security_policy(["https://api.example.com", "http://127.0.0.1:9000"],
                                                ["https://media.example.com"]))
    assert policy["connect-src"] == ["'self'", "https://api.example.com", "wss://api.example.com",
                                     "http://127.0.0.1:9000", "ws://127.0.0.1:9000"]
    assert policy["img-src"] == ["'self'", "data:", "https://media.example.com"]


def test_the_script_renders_text_only_and_names_no_remote_url() -> None:
    """The bundle never parses server text as HTML, and loads nothing from elsewhere."""
    script = (STATIC / "app.js").read_text()
    for forbidden in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert forbidden not in script, forbidden
    assert not re.search(r"https?://(?!example\.com)[a-z]", script), "a remote URL in the bundle"
