"""CONTRACT section 1 "Browsers on another origin (CORS)", on a real server with ALLOWED_ORIGINS set.

An allowed origin gets 204 preflights with the route's methods on every REST route (the upload included) and
the grant on every answer, errors included; an unlisted origin, a lookalike and ``null`` get no grant at all;
nobody ever gets ``Access-Control-Allow-Credentials``; and the socket's own Origin rule is unchanged.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import websockets

from tests.support.photos import PHOTOS, picture, upload
from tests.support.rest import assert_error
from tests.support.server import RunningServer, run_server
from tests.support.settings import make_settings
from tests.support.socket import open_ws, recv_json
from tests.support.users import PASSWORD, auth_header, new_email, signup

APP = "https://my.trydelete.app"
DEV = "http://localhost:5173"
UNLISTED = "https://evil.example"
LOOKALIKE = "https://my.trydelete.app.evil.example"
REFUSED = [UNLISTED, LOOKALIKE, "null", "http://my.trydelete.app", "https://my.trydelete.app:8443",
           "https://MY.trydelete.app", f"{APP}/"]
PHOTO_PATH = f"{PHOTOS}/{uuid.uuid4()}"


def tokens(value: str | None) -> set[str]:
    """A comma-separated header value as a set of lower-case names."""
    return {item.strip().lower() for item in (value or "").split(",") if item.strip()}


def assert_granted(resp: httpx.Response, origin: str) -> None:
    """An actual answer to an allowed origin: the grant, Retry-After exposed, Vary: Origin, no credentials."""
    assert resp.headers.get("access-control-allow-origin") == origin, dict(resp.headers)
    assert "retry-after" in tokens(resp.headers.get("access-control-expose-headers"))
    assert "origin" in tokens(resp.headers.get("vary"))
    assert "access-control-allow-credentials" not in resp.headers


def assert_not_granted(resp: httpx.Response) -> None:
    """An answer to an origin not allowed: no CORS header at all, but still Vary: Origin."""
    assert not [name for name in resp.headers if name.lower().startswith("access-control-")], dict(resp.headers)
    assert "origin" in tokens(resp.headers.get("vary"))


async def preflight(http: httpx.AsyncClient, path: str, origin: str, method: str,
                    request_headers: str | None = "authorization, content-type") -> httpx.Response:
    """The OPTIONS a browser sends before a cross-origin ``method`` on ``path``."""
    headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if request_headers is not None:
        headers["Access-Control-Request-Headers"] = request_headers
    return await http.options(path, headers=headers)


@pytest.fixture(scope="module")
async def cors_server(database_url: str, redis_url: str, tmp_root: Path) -> AsyncIterator[RunningServer]:
    """A server that allows the web app's origin and a dev server; one failed login per address trips the throttle."""
    settings = make_settings(database_url, redis_url, tmp_root / "media-cors", allowed_origins=(APP, DEV),
                             login_max_failures=1)
    async with run_server(settings) as srv:
        yield srv


@pytest.fixture
async def web(cors_server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    """A client on the cors server that sends ``Origin: APP`` on every request, as the web app's fetches do."""
    async with httpx.AsyncClient(base_url=cors_server.base_url, timeout=10, headers={"Origin": APP}) as client:
        yield client


@pytest.fixture
async def plain(cors_server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    """A client on the cors server that sends no Origin (a native app)."""
    async with httpx.AsyncClient(base_url=cors_server.base_url, timeout=10) as client:
        yield client


@pytest.mark.parametrize(("path", "method", "request_headers", "methods"), [
    ("/v1/auth/signup", "POST", "content-type", {"POST"}),
    ("/v1/auth/login", "POST", "content-type", {"POST"}),
    ("/v1/auth/refresh", "POST", "content-type", {"POST"}),
    ("/v1/auth/logout", "POST", "content-type", {"POST"}),
    (PHOTOS, "GET", "authorization", {"GET", "HEAD", "POST"}),
    (PHOTOS, "POST", "authorization", {"GET", "HEAD", "POST"}),  # multipart: its content type needs no grant
    (PHOTOS, "POST", "authorization, content-type", {"GET", "HEAD", "POST"}),
    (PHOTO_PATH, "DELETE", "authorization", {"DELETE"}),
    ("/v1/health", "GET", None, {"GET", "HEAD"}),
    ("/v1/openapi.json", "GET", None, {"GET", "HEAD"}),
], ids=["signup", "login", "refresh", "logout", "photos-get", "photos-upload", "photos-upload-ct", "photo-delete",
        "health", "openapi"])
@pytest.mark.parametrize("origin", [APP, DEV])
async def test_preflight_from_an_allowed_origin_is_204_with_the_routes_methods(
        plain: httpx.AsyncClient, origin: str, path: str, method: str, request_headers: str | None,
        methods: set[str]) -> None:
    """Every REST route answers an allowed origin's preflight 204: the origin, the route's methods,
    authorization and content-type allowed, a max age, Vary: Origin, and never credentials."""
    resp = await preflight(plain, path, origin, method, request_headers)
    assert resp.status_code == 204, resp.text
    assert resp.content == b""
    assert resp.headers["access-control-allow-origin"] == origin
    assert tokens(resp.headers["access-control-allow-methods"]) == {m.lower() for m in methods}
    assert {"authorization", "content-type"} <= tokens(resp.headers["access-control-allow-headers"])
    assert int(resp.headers["access-control-max-age"]) > 0
    assert "origin" in tokens(resp.headers.get("vary"))
    assert "access-control-allow-credentials" not in resp.headers


async def test_the_web_app_signs_up_uploads_lists_and_deletes_with_the_grant(web: httpx.AsyncClient) -> None:
    """The whole REST flow from the web app's origin: every answer carries the grant and exposes Retry-After."""
    resp = await web.post("/v1/auth/signup", json={"email": new_email(), "password": PASSWORD,
                                                   "display_name": "Ada", "birthdate": "1995-05-17"})
    assert resp.status_code == 201, resp.text
    assert_granted(resp, APP)
    body = resp.json()
    resp = await web.post("/v1/auth/login", json={"email": body["user"]["email"], "password": PASSWORD})
    assert resp.status_code == 200, resp.text
    assert_granted(resp, APP)
    token = resp.json()["access_token"]
    uploaded = await upload(web, token, picture())
    assert uploaded.status_code == 201, uploaded.text
    assert_granted(uploaded, APP)
    listed = await web.get(PHOTOS, headers=auth_header(token))
    assert listed.status_code == 200 and [p["id"] for p in listed.json()["photos"]] == [uploaded.json()["id"]]
    assert_granted(listed, APP)
    deleted = await web.delete(f"{PHOTOS}/{uploaded.json()['id']}", headers=auth_header(token))
    assert deleted.status_code == 204, deleted.text
    assert_granted(deleted, APP)
    refreshed = await web.post("/v1/auth/refresh", json={"refresh_token": body["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    assert_granted(refreshed, APP)
    logout = await web.post("/v1/auth/logout", json={"refresh_token": refreshed.json()["refresh_token"]})
    assert logout.status_code == 204, logout.text
    assert_granted(logout, APP)
    health = await web.get("/v1/health")
    assert health.status_code == 200
    assert_granted(health, APP)


@pytest.mark.parametrize(("method", "path", "kwargs", "status", "code"), [
    ("GET", PHOTOS, {}, 401, "unauthorized"),
    ("DELETE", PHOTO_PATH, {"headers": {"Authorization": "Bearer x.y.z"}}, 401, "unauthorized"),
    ("POST", "/v1/auth/signup", {"json": {}}, 422, "validation_error"),
    ("POST", "/v1/auth/login", {"content": b"{oops", "headers": {"Content-Type": "application/json"}},
     400, "bad_request"),
    ("POST", "/v1/auth/login", {"content": b'{"email": "' + b"a" * 70_000 + b'"}'}, 413, "bad_request"),
    ("POST", "/v1/auth/refresh", {"json": {"refresh_token": "nope"}}, 401, "unauthorized"),
    ("GET", "/v1/nope", {}, 404, "not_found"),
    ("PUT", PHOTOS, {}, 405, "bad_request"),
], ids=["401", "401-delete", "422", "400", "413", "401-refresh", "404", "405"])
async def test_error_answers_carry_the_grant(web: httpx.AsyncClient, method: str, path: str,
                                             kwargs: dict[str, object], status: int, code: str) -> None:
    """A browser app can read the error: handler answers carry the grant like any other."""
    resp = await web.request(method, path, **kwargs)  # type: ignore[arg-type]
    assert_error(resp, status, code)
    assert_granted(resp, APP)


async def test_an_upload_that_is_not_an_image_is_415_with_the_grant(web: httpx.AsyncClient) -> None:
    """415 from the photo upload (multipart) carries the grant."""
    token = (await signup(web))["access_token"]
    resp = await upload(web, token, b"hello, I am certainly a photo\n" * 20)
    assert_error(resp, 415, "validation_error")
    assert_granted(resp, APP)


async def test_a_throttled_login_exposes_retry_after(web: httpx.AsyncClient) -> None:
    """429 rate_limited from login: the grant, and Retry-After both present and exposed to the page."""
    email = (await signup(web))["user"]["email"]
    first = await web.post("/v1/auth/login", json={"email": email, "password": "not the password"})
    assert_error(first, 401, "invalid_credentials")
    assert_granted(first, APP)
    resp = await web.post("/v1/auth/login", json={"email": email, "password": "not the password"})
    assert_error(resp, 429, "rate_limited")
    assert int(resp.headers["Retry-After"]) > 0
    assert_granted(resp, APP)


async def test_an_outage_answer_from_the_last_resort_handler_carries_the_grant(
        redis_url: str, tmp_root: Path) -> None:
    """PostgreSQL unreachable: the 503 that the catch-all handler writes carries the grant and its Retry-After."""
    settings = make_settings("postgresql://delete:x@127.0.0.1:9/none", redis_url, tmp_root / "media-cors-down",
                             allowed_origins=(APP,))
    async with run_server(settings) as srv, httpx.AsyncClient(base_url=srv.base_url, timeout=10,
                                                               headers={"Origin": APP}) as client:
        resp = await client.post("/v1/auth/login", json={"email": new_email(), "password": PASSWORD})
    assert_error(resp, 503, "internal")
    assert "Retry-After" in resp.headers
    assert_granted(resp, APP)


@pytest.mark.parametrize("origin", REFUSED)
@pytest.mark.parametrize(("path", "method"), [("/v1/auth/login", "POST"), (PHOTOS, "POST"), (PHOTO_PATH, "DELETE"),
                                              ("/v1/nope", "GET")])
async def test_preflight_from_an_origin_not_allowed_is_refused_without_a_grant(
        plain: httpx.AsyncClient, origin: str, path: str, method: str) -> None:
    """Unlisted, lookalike, null, another scheme, port or spelling: 403 in the error shape and no CORS header."""
    resp = await preflight(plain, path, origin, method)
    assert_error(resp, 403, "forbidden")
    assert_not_granted(resp)


@pytest.mark.parametrize("origin", REFUSED)
async def test_answers_to_an_origin_not_allowed_carry_no_grant(plain: httpx.AsyncClient, origin: str) -> None:
    """The server still answers (the browser withholds it from the page), without any CORS header."""
    health = await plain.get("/v1/health", headers={"Origin": origin})
    assert health.status_code == 200
    assert_not_granted(health)
    refused = await plain.post("/v1/auth/login", headers={"Origin": origin},
                               json={"email": new_email(), "password": PASSWORD})
    assert_error(refused, 401, "invalid_credentials")
    assert_not_granted(refused)


async def test_answers_without_an_origin_vary_on_it_and_carry_no_grant(plain: httpx.AsyncClient) -> None:
    """A native app sends no Origin: nothing CORS in the answer, but Vary: Origin so no cache mixes the two."""
    resp = await plain.get("/v1/health")
    assert resp.status_code == 200
    assert_not_granted(resp)


async def test_preflight_on_an_unknown_path_is_404_with_the_grant(plain: httpx.AsyncClient) -> None:
    """An allowed origin asking about a path the API does not have learns it is not there."""
    resp = await preflight(plain, "/v1/nope", APP, "POST")
    assert_error(resp, 404, "not_found")
    assert_granted(resp, APP)


async def test_options_that_is_not_a_preflight_is_still_405(plain: httpx.AsyncClient) -> None:
    """OPTIONS without Access-Control-Request-Method is no preflight: 405 as before, with the grant."""
    resp = await plain.options("/v1/auth/login", headers={"Origin": APP})
    assert_error(resp, 405, "bad_request")
    assert_granted(resp, APP)


async def test_without_allowed_origins_no_browser_origin_is_granted(http: httpx.AsyncClient) -> None:
    """The session server has no ALLOWED_ORIGINS: every cross-origin preflight is refused, no grant anywhere."""
    resp = await preflight(http, "/v1/auth/login", APP, "POST")
    assert_error(resp, 403, "forbidden")
    assert_not_granted(resp)
    health = await http.get("/v1/health", headers={"Origin": APP})
    assert_not_granted(health)


async def test_the_sockets_origin_rule_is_unchanged(cors_server: RunningServer, plain: httpx.AsyncClient) -> None:
    """An allowed origin and no Origin open /v1/ws; unlisted, lookalike and null are refused with HTTP 403."""
    token = (await signup(plain))["access_token"]
    for origin in (APP, DEV, None):
        ws = await open_ws(cors_server, token, **({"origin": origin} if origin else {}))
        assert (await recv_json(ws))["type"] == "hello"
        await ws.close()
    for origin in (UNLISTED, LOOKALIKE, "null"):
        with pytest.raises(websockets.InvalidStatus) as info:
            await open_ws(cors_server, token, origin=origin)
        assert info.value.response.status_code == 403
        assert not [h for h in info.value.response.headers if h.lower().startswith("access-control-")]
